#!/usr/bin/env bash
# Sets up and runs the whole test suite: install dependencies; the release preset with the
# optional MPI part (tests, examples, benchmarks, spinfire::dist and its 2-rank tests); the
# unit tests again under ASan + UBSan (debug-asan preset); every reader's libFuzzer target
# replaying its corpus and reproducers and fuzzing a few seconds (fuzz preset, Clang).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release -DSPINFIRE_WITH_MPI=ON
cmake --build --preset release -j "$(nproc)"
ctest --preset release
cmake --preset debug-asan
cmake --build --preset debug-asan -j "$(nproc)"
ctest --preset debug-asan
cmake --preset fuzz
cmake --build --preset fuzz -j "$(nproc)"
ctest --preset fuzz
