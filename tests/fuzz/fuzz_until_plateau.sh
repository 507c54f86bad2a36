#!/usr/bin/env bash
# Fuzzes one reader until it finds no new coverage for a plateau (default 300 s; at most
# max_s), then merges what it found into tests/fuzz/corpus/<reader>, minimised:
#     tests/fuzz/fuzz_until_plateau.sh <fuzz build dir> <reader> [plateau_s] [max_s] [seed dirs...]
# A finding stops the fuzzer: its input is kept under <build>/fuzz-work/<reader>/artifacts.
# Prints one summary line: reader, seconds, executions, coverage, corpus size, result.
set -uo pipefail
build=$1 reader=$2 plateau=${3:-300} max=${4:-3600}
shift $(($# < 4 ? $# : 4))
src=$(cd "$(dirname "$0")" && pwd)
bin=$build/tests/fuzz/fuzz_$reader
work=$build/fuzz-work/$reader
mkdir -p "$work/corpus" "$work/artifacts" "$src/corpus/$reader"
seeds=("$src/corpus/$reader")
for d in "$@"; do [ -d "$d/$reader" ] && seeds+=("$d/$reader"); done
dirs=("$work/corpus" "${seeds[@]}")
[ -d "$src/regressions/$reader" ] && dirs+=("$src/regressions/$reader")
log=$work/log.txt
start=$(date +%s)
"$bin" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=64 -max_len=65536 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 -max_total_time="$max" \
  "${dirs[@]}" >"$log" 2>&1 &
pid=$!
last=$start seen="" plateaued=0
while kill -0 "$pid" 2>/dev/null; do # coverage: libFuzzer's "cov:" (edges), not "ft:"
  sleep 5
  c=$(grep -o "cov: [0-9]*" "$log" | tail -1)
  if [ "$c" != "$seen" ]; then seen=$c last=$(date +%s); fi
  if (($(date +%s) - last >= plateau)); then plateaued=1 && kill -INT "$pid" && break; fi
done
wait "$pid"
rc=$?
secs=$(($(date +%s) - start))
execs=$(grep -o "stat::number_of_executed_units: [0-9]*" "$log" | awk '{print $2}')
cov=$(grep -o "cov: [0-9]*" "$log" | tail -1)
result="plateau" && ((plateaued)) || result="no plateau within ${max} s"
if ls "$work"/artifacts/* >/dev/null 2>&1; then result="FINDING: $(ls "$work"/artifacts | tr '\n' ' ')"
elif ((rc != 0 && rc != 130 && rc != 72)); then result="exit $rc"; fi
if [[ $result != FINDING* ]]; then # minimise into the committed corpus (edges, not counts)
  rm -rf "$work/merged" && mkdir -p "$work/merged"
  "$bin" -merge=1 -use_counters=0 -timeout=10 -malloc_limit_mb=64 -max_len=65536 "$work/merged" \
    "${seeds[@]}" "$work/corpus" >"$work/merge.txt" 2>&1 &&
    rm -rf "$src/corpus/$reader" && mv "$work/merged" "$src/corpus/$reader"
fi
echo "$reader: ${secs} s, ${execs:-?} executions, ${cov:-cov: ?}, $(ls "$src/corpus/$reader" | wc -l) corpus files, $result"
