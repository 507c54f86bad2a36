#!/usr/bin/env bash
# Where a VGG-s training step goes: oneDNN's own time per primitive kind (ONEDNN_VERBOSE=1)
# over N steps after a warm-up one, the rest of the wall time (spinfire's own passes: neuron,
# loss, SGD, layout bookkeeping) and the share of the step outside convolutions.
#   scripts/step_profile.sh [build dir] [bf16|f32] [threads] [steps]
set -euo pipefail
build=${1:-build/release}
prec=${2:-bf16}
threads=${3:-2}
steps=${4:-8}
bf16=1
[ "$prec" = f32 ] && bf16=0
ONEDNN_VERBOSE=1 OMP_WAIT_POLICY=PASSIVE "$build/benchmarks/bench_vgg_s" --threads "$threads" \
    --profile-steps "$steps" --profile-bf16 "$bf16" |
    awk -F, -v prec="$prec" -v threads="$threads" '
    $1 == "spinfire_profile" && $2 == "begin" { on = 1; next }
    $1 == "spinfire_profile" && $2 == "end" { n = $3; wall = $4; on = 0; next }
    on && $1 ~ /verbose$/ && $2 == "exec" {
        kind = $4
        if (kind == "convolution" || kind == "inner_product") kind = kind ":" $6
        t[kind] += $NF; total += $NF
    }
    END {
        if (wall == 0) { print "step_profile: no timed steps found" > "/dev/stderr"; exit 1 }
        printf "VGG-s training, %s, %s threads: %.1f ms per step (%d steps)\n", prec, threads,
               wall / n, n
        for (k in t) {
            printf "  %-40s %9.1f ms/step %5.1f %%\n", k, t[k] / n, 100 * t[k] / wall
            if (k ~ /^convolution/) conv += t[k]
        }
        printf "  %-40s %9.1f ms/step %5.1f %%\n", "outside oneDNN (spinfire passes)",
               (wall - total) / n, 100 * (wall - total) / wall
        printf "share outside convolutions: %.1f %%\n", 100 * (wall - conv) / wall
    }'
