#!/usr/bin/env bash
# Sets up and runs the whole test suite: install dependencies, configure the release preset,
# build everything (tests, examples, benchmarks) with the optional MPI part (spinfire::dist,
# its 2-rank tests, MPI-enabled mtj_sweep and fit_signed_lif), run ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release -DSPINFIRE_WITH_MPI=ON
cmake --build --preset release -j "$(nproc)"
ctest --preset release
