#!/usr/bin/env bash
# Evaluates one trained CIFAR-10 checkpoint with its neurons as the fitted model and as
# simulated MTJs under each condition of docs/results/device_in_the_loop.md, then writes
# summary.csv, summary.md and the accuracy-vs-temperature / -tolerance plots.
#
#   scripts/device_in_the_loop.sh CHECKPOINT OUT [PER_CLASS] [CONDITIONS...]
#
# CHECKPOINT: a train_cifar10 checkpoint.bin (its checkpoint.json gives neuron, T, precision);
# PER_CLASS: test images per class (default 100: 1,000 images); CONDITIONS (default: all):
#   a_model b_llg_0K c_llg_300K d_tol1nm_0K e_ms2_0K f_all_300K t77 t150 tol025 tol05
# Needs the release build of train_cifar10 (BIN overrides it) and the CIFAR-10 JPEG copy
# unpacked in build/train/data (DATA overrides it). Extra options for every run: EXTRA.
set -euo pipefail
cd "$(dirname "$0")/.."
ck=${1:?checkpoint}
out=${2:?output directory}
per_class=${3:-100}
shift $(($# < 3 ? $# : 3))
conditions=("$@")
((${#conditions[@]})) || conditions=(a_model b_llg_0K c_llg_300K d_tol1nm_0K e_ms2_0K f_all_300K t77 t150 tol025 tol05)
bin=${BIN:-build/release/examples/train_cifar10}
data=${DATA:-build/train/data/cifar10-jpeg}
width=${WIDTH:-64}
mkdir -p "$out"

options_of() {
  case "$1" in
    a_model) echo "--neuron-sim model" ;;
    b_llg_0K) echo "--neuron-sim llg" ;;
    c_llg_300K) echo "--neuron-sim llg --temperature 300" ;;
    d_tol1nm_0K) echo "--neuron-sim llg --tolerance-nm 1" ;;
    e_ms2_0K) echo "--neuron-sim llg --ms-sigma 0.02" ;;
    f_all_300K) echo "--neuron-sim llg --temperature 300 --tolerance-nm 1 --ku-sigma 5000 --ms-sigma 0.02" ;;
    t77) echo "--neuron-sim llg --temperature 77" ;;
    t150) echo "--neuron-sim llg --temperature 150" ;;
    tol025) echo "--neuron-sim llg --tolerance-nm 0.25" ;;
    tol05) echo "--neuron-sim llg --tolerance-nm 0.5" ;;
    *) echo "unknown condition '$1'" >&2; exit 2 ;;
  esac
}

for c in "${conditions[@]}"; do
  opts=$(options_of "$c")
  if [ -f "$out/$c/evaluation.json" ]; then echo "$c: done before, kept"; continue; fi
  echo "== $c: $opts"
  # shellcheck disable=SC2086
  "$bin" --data "$data" --cache "$(dirname "$data")/cache" --out "$out/$c" --evaluate "$ck" \
    --width "$width" --test-per-class "$per_class" --eval-batch 100 --device-seed 1 \
    --threads 2 --quiet $opts ${EXTRA:-} | tail -1
done

python3 - "$out" <<'EOF'
import json, math, os, sys
out = sys.argv[1]
rows = []
for c in sorted(os.listdir(out)):
    f = os.path.join(out, c, "evaluation.json")
    if not os.path.isfile(f):
        continue
    e = json.load(open(f))
    d = e["conditions"].get("device_in_the_loop")
    n, acc = e["samples"], e["accuracy"]
    r = {"condition": c, "samples": n, "accuracy": acc,
         "se": math.sqrt(acc * (1 - acc) / n), "seconds": e["seconds"]}
    if d:
        chip = d["chip"]
        r.update(temperature=chip["temperature"], tolerance_nm=chip["dimension_tol_nm"],
                 ku_sigma=chip["ku_sigma"], ms_sigma=chip["ms_rel_sigma"],
                 agree_local=sum(l["agreement_same_input"] for l in d["layers"]) / len(d["layers"]),
                 agree_net=sum(l["agreement_with_model_network"] for l in d["layers"]) / len(d["layers"]),
                 spikes_pos=sum(l["positive_rate"] * l["neurons"] for l in d["layers"]) / d["neurons_per_sample"],
                 spikes_neg=sum(l["negative_rate"] * l["neurons"] for l in d["layers"]) / d["neurons_per_sample"],
                 energy_nj=d["energy_pj_per_sample"]["total"] * 1e-3,
                 pj_per_spike=d["energy_pj_per_spike"],
                 steps_per_s=d["device_steps_per_second"])
    else:
        r.update(temperature="", tolerance_nm="", ku_sigma="", ms_sigma="", agree_local=1, agree_net=1,
                 spikes_pos=e["spike_rate_positive"], spikes_neg=e["spike_rate_negative"],
                 energy_nj="", pj_per_spike="", steps_per_s="")
    rows.append(r)
keys = list(rows[0].keys()) if rows else []
with open(os.path.join(out, "summary.csv"), "w") as f:
    f.write(",".join(keys) + "\n")
    for r in rows:
        f.write(",".join(str(r.get(k, "")) for k in keys) + "\n")
def fmt(v, p):
    return f"{v:.{p}f}" if isinstance(v, float) else str(v)
with open(os.path.join(out, "summary.md"), "w") as f:
    f.write("| condition | images | accuracy % (se) | agreement same input | agreement end to end | spikes + / - per neuron-step | device energy nJ/image | pJ/spike |\n|---|---|---|---|---|---|---|---|\n")
    for r in rows:
        f.write(f"| {r['condition']} | {r['samples']} | {100*r['accuracy']:.2f} ({100*r['se']:.2f}) | "
                f"{fmt(r['agree_local'], 4)} | {fmt(r['agree_net'], 4)} | {r['spikes_pos']:.3f} / {r['spikes_neg']:.3f} | "
                f"{fmt(r['energy_nj'], 1)} | {fmt(r['pj_per_spike'], 2)} |\n")
print(open(os.path.join(out, "summary.md")).read())
# Plot data: accuracy against temperature (no spread) and against tolerance (0 K, no other spread).
temp = sorted((r["temperature"], r["accuracy"], r["se"]) for r in rows
              if r["temperature"] != "" and r["tolerance_nm"] == 0 and r["ms_sigma"] == 0 and r["ku_sigma"] == 0)
tol = sorted((r["tolerance_nm"], r["accuracy"], r["se"]) for r in rows
             if r["tolerance_nm"] != "" and r["temperature"] == 0 and r["ms_sigma"] == 0 and r["ku_sigma"] == 0)
model = [r["accuracy"] for r in rows if r["condition"] == "a_model"]
for name, pts in (("temperature", temp), ("tolerance", tol)):
    with open(os.path.join(out, f"accuracy_vs_{name}.dat"), "w") as f:
        for x, a, s in pts:
            f.write(f"{x} {100*a} {100*s}\n")
with open(os.path.join(out, "model_accuracy.dat"), "w") as f:
    f.write(f"{100*model[0] if model else 0}\n")
EOF

if command -v gnuplot > /dev/null; then
  model=$(cat "$out/model_accuracy.dat")
  for what in temperature tolerance; do
    dat="$out/accuracy_vs_$what.dat"
    [ -s "$dat" ] || continue
    xl=$([ $what = temperature ] && echo "temperature (K), nominal devices" || echo "dimension tolerance +-nm (W, L, T uniform), 0 K")
    gnuplot <<GP
set terminal pngcairo size 720,480 font ",11"
set output "$out/accuracy_vs_$what.png"
set xlabel "$xl"
set ylabel "CIFAR-10 test accuracy (%)"
set yrange [0:100]
set grid
set key bottom left
plot "$dat" using 1:2:3 with yerrorlines lw 2 pt 7 title "LLG devices in the loop", \
     $model with lines dt 2 lw 2 title "fitted signed LIF (model)", \
     10 with lines dt 3 lc rgb "gray" title "chance"
GP
  done
fi
