#!/usr/bin/env bash
# Sets up and runs the whole test suite: install dependencies; the release preset with the
# optional MPI part (tests, examples, benchmarks, spinfire::dist and its 2-rank tests); the
# unit tests again under ASan + UBSan (debug-asan preset); every reader's libFuzzer target
# replaying its corpus and reproducers and fuzzing a few seconds (fuzz preset, Clang).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step prints its wall time: a slow CI run shows where the time went.
step() {
    local t0=$SECONDS
    "$@"
    echo "== scripts/test.sh: '$*' took $((SECONDS - t0)) s"
}
step bash scripts/deps.sh
step cmake --preset release -DSPINFIRE_WITH_MPI=ON
step cmake --build --preset release -j "$(nproc)"
step ctest --preset release
step cmake --preset debug-asan
step cmake --build --preset debug-asan -j "$(nproc)"
step ctest --preset debug-asan
step cmake --preset fuzz
step cmake --build --preset fuzz -j "$(nproc)"
step ctest --preset fuzz
echo "== scripts/test.sh: all steps passed in $SECONDS s"
