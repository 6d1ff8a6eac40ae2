#!/usr/bin/env bash
# Times two commands as whole processes with GNU time, in turn (A B A B ...) after one warm-up run of each, and prints
# for each the median wall seconds, CPU seconds (user + system) and peak RSS (the largest process, MiB), and the median
# of the pair-by-pair A/B ratios of wall and CPU time (pairing keeps a ratio meaningful while the machine's speed drifts).
# Usage: compare.sh RUNS 'COMMAND A' 'COMMAND B'    (each command one string, split as the shell splits words)
set -euo pipefail
runs=$1 a=$2 b=$3
out=$(mktemp)
trap 'rm -f "$out"' EXIT
one() { /usr/bin/time -f '%e %U %S %M' -o "$out" $1 >/dev/null 2>&1 || { echo "compare.sh: '$1' failed" >&2; exit 1; }; cat "$out"; }
one "$a" >/dev/null; one "$b" >/dev/null
for _ in $(seq "$runs"); do
  echo "A $(one "$a")"
  echo "B $(one "$b")"
done | awk '
  function median(v, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t } return n % 2 ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2 }
  $1 == "A" { n++; aw[n] = $2; ac[n] = $3 + $4; am[n] = $5 / 1024 }
  $1 == "B" { bw[n] = $2; bc[n] = $3 + $4; bm[n] = $5 / 1024; rw[n] = bw[n] > 0 ? aw[n] / bw[n] : 0; rc[n] = bc[n] > 0 ? ac[n] / bc[n] : 0 }
  END {
    printf "A: wall %.3f s, cpu %.3f s, peak %.1f MiB\n", median(aw, n), median(ac, n), median(am, n)
    printf "B: wall %.3f s, cpu %.3f s, peak %.1f MiB\n", median(bw, n), median(bc, n), median(bm, n)
    printf "A/B: wall %.2f, cpu %.2f (medians of %d pairs)\n", median(rw, n), median(rc, n), n
  }'
