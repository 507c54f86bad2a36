#!/usr/bin/env bash
# Compares two networks scored on the same test set, pairwise: each accuracy, their
# difference A - B in points, and the difference's standard error from the per-sample pairs
# (the sample standard deviation of correct_A - correct_B over sqrt(n)). Two networks that
# fail on mostly the same samples have a much smaller SE than the unpaired
# sqrt(SE_A^2 + SE_B^2), which treats their errors as independent.
#
#   scripts/paired_accuracy.sh RUN_A/predictions.csv RUN_B/predictions.csv
#
# predictions.csv ("index,label,predicted") is written by every evaluation (train_cifar10,
# train_cifar10_dvs); the two files must list the same samples with the same labels.
set -euo pipefail
a=${1:?predictions.csv of network A}
b=${2:?predictions.csv of network B}
if [ "$(wc -l <"$a")" != "$(wc -l <"$b")" ]; then
    echo "error: $a and $b list different numbers of samples" >&2
    exit 1
fi
paste -d, "$a" "$b" | awk -F, '
function fail(msg) { print "error: " msg > "/dev/stderr"; bad = 1; exit 1 }
NR == 1 {
    if ($0 != "index,label,predicted,index,label,predicted") fail("not two predictions.csv")
    next
}
{
    if ($1 != $4 || $2 != $5) fail("row " NR - 1 " differs in sample index or label")
    x = ($2 == $3); y = ($5 == $6); d = x - y
    n++; sa += x; sb += y; s += d; q += d * d
}
END {
    if (bad) exit 1
    if (n < 2) fail("fewer than two samples")
    pa = sa / n; pb = sb / n; m = s / n
    printf "n %d  A %.2f %% (SE %.2f)  B %.2f %% (SE %.2f)  ", n, 100 * pa,
        100 * sqrt(pa * (1 - pa) / n), 100 * pb, 100 * sqrt(pb * (1 - pb) / n)
    printf "A - B %.2f points (paired SE %.2f)\n", 100 * m, 100 * sqrt((q / n - m * m) / (n - 1))
}'
