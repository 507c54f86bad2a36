#!/usr/bin/env bash
# The 300 K design search of docs/results/device_in_the_loop.md: the nominal free layer scaled
# by s (W, L, T times s; SOT drive per unit X times s^2, so the torque per unit X is unchanged
# and the 0 K dynamics are the same), with the file's full magnetization swing and with half
# of it (protocol_half_swing.json), fitted at 0 K and 300 K over the same 400-step input.
#
#   scripts/design_scale_sweep.sh OUT [SCALES...]        (default scales: 1 2 3 4)
#
# Writes OUT/s<s>_<swing>/sweep.csv per point set and OUT/design_scale_sweep.csv (one row each).
# Needs the release build of mtj_sweep (BIN overrides it).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?output directory}
shift
scales=("$@")
((${#scales[@]})) || scales=(1 2 3 4)
bin=${BIN:-build/release/examples/mtj_sweep}
half=docs/results/device_in_the_loop/protocol_half_swing.json
mkdir -p "$out"
for s in "${scales[@]}"; do
  for swing in full half; do
    dir="$out/s${s}_$swing"
    [ -f "$dir/sweep.csv" ] && continue
    # drive per unit X of the nominal protocol: 1.5 mA (full), 0.75 mA (half); times s^2
    amp=$(python3 -c "print((1.5e-3 if '$swing' == 'full' else 0.75e-3) * $s**2)")
    proto=()
    [ "$swing" = half ] && proto=(--protocol "$half")
    "$bin" --width $((10 * s)) --length $((45 * s)) --height $((50 * s)) --amplitude "$amp" \
      --temperature 0,300 --steps 400 --threads 2 --out "$dir" "${proto[@]}" | tail -1
  done
done
python3 - "$out" "${scales[@]}" <<'PY'
import csv, os, sys
out, scales = sys.argv[1], sys.argv[2:]
cols = ["scale", "swing", "W_nm", "L_nm", "T_nm", "drive_mA_per_unit", "temperature_K", "beta", "gain",
        "nrmse_pct", "spike_agreement_pct", "energy_per_step_pJ", "fit_class"]
with open(os.path.join(out, "design_scale_sweep.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(cols)
    for s in scales:
        for swing in ("full", "half"):
            for r in csv.DictReader(open(os.path.join(out, f"s{s}_{swing}", "sweep.csv"))):
                w.writerow([s, swing, r["width_nm"], r["length_nm"], r["height_nm"],
                            round(float(r["amplitude"]) * 1e3, 4), r["temperature"],
                            round(float(r["beta"]), 4), round(float(r["gain"]), 4),
                            round(100 * float(r["nrmse"]), 2), round(100 * float(r["spike_agreement"]), 2),
                            round(float(r["energy_per_step_J"]) * 1e12, 4), r["class"]])
print(open(os.path.join(out, "design_scale_sweep.csv")).read())
PY
