#!/usr/bin/env bash
# Sets up and runs the whole test suite: install dependencies, configure the release preset,
# build everything (tests, examples, benchmarks), run ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release
cmake --build --preset release -j "$(nproc)"
ctest --preset release
