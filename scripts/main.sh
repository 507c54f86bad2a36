#!/usr/bin/env bash
# Sets up and runs the main job: simulate the paper's orthogonal-easy-axis MTJ (preset
# orthogonal_mtj) under a signed pulse train and write trace.csv, summary.json, trace.png.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release
cmake --build --preset release -j "$(nproc)" --target mtj_trace
out=build/release/out/mtj_trace
./build/release/examples/mtj_trace --out "$out" "$@"
