#!/bin/bash
# Data-parallel training speed, 1 rank vs 2 ranks back to back (1 thread per rank):
# cifar10_fast<32> (the fastest net), global batch 128, f32, T = 2, 40 steps each, on
# 5,000 CIFAR-10 training images (decoded once into build/train/cache; data: README "Training on CIFAR-10").
# Usage: bash scripts/scaling_train.sh [repeats]   (needs the MPI build: scripts/test.sh makes it)
set -e
cd "$(dirname "$0")/.."
bin=build/release/examples/train_cifar10
data=build/train/data/cifar10-jpeg
steps=${STEPS:-40}
batch=${BATCH:-128}
common="--data $data --train-per-class 500 --test-per-class 10 --batch $batch --max-steps $steps
        --epochs 10 --eval-every 0 --threads 1 --cache build/train/cache --overwrite --quiet"
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
lscpu | grep -E "Model name|^CPU\(s\)"
report() { # name out
    python3 - "$1" "$2" "$batch" <<'PY'
import json, sys
m = json.load(open(sys.argv[2] + "/metrics.json"))
s, t, b = m["steps"], m["train_seconds"], int(sys.argv[3])
print(f"{sys.argv[1]:28s} {s} steps in {t:6.2f} s: {s*b/t:7.1f} images/s, {1000*t/s:6.1f} ms/step")
PY
}
for r in $(seq 1 ${1:-2}); do
    echo "== round $r: $(uptime)"
    $bin $common --out build/train/scal_1 > build/train/scal_1.log 2>&1
    report "1 rank" build/train/scal_1
    mpirun --allow-run-as-root --oversubscribe -np 2 --bind-to core $bin $common \
        --out build/train/scal_2 > build/train/scal_2.log 2>&1
    report "2 ranks (per-rank BN)" build/train/scal_2
    mpirun --allow-run-as-root --oversubscribe -np 2 --bind-to core $bin $common --sync-bn \
        --out build/train/scal_2s > build/train/scal_2s.log 2>&1
    report "2 ranks (--sync-bn)" build/train/scal_2s
done
echo "== end: $(uptime)"
