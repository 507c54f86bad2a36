#!/usr/bin/env bash
# Sets up and runs the main job: the paper's idea end to end. The preset orthogonal-easy-axis
# MTJ is driven by the fitted protocol (SOT, m_W read) with a random signed input, a signed
# LIF is fitted to it, and both membranes and spike trains are drawn in one PNG beside the
# fitted-neuron JSON (examples/mtj_neuron.cpp). Builds that one program only.
# Arguments go to mtj_neuron (--steps, --seed, --out). The magnetization-switching demo is
# examples/mtj_trace (cmake --build --preset release --target mtj_trace).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release > /dev/null
cmake --build --preset release -j "$(nproc)" --target mtj_neuron
out=build/release/out/mtj_neuron
./build/release/examples/mtj_neuron --out "$out" "$@"
