#!/usr/bin/env bash
# Instructions per parse+fold line, counted by callgrind (not timed: repeatable on a busy host).
# Runs the same fold once and three times; the difference is two folds of LINES lines, so
# corpus generation and series creation cancel out.
set -euo pipefail
bin=$1
lines=${LINES:-200000}
series=${SERIES:-10000}
trace=${TRACE:-0}  # 1: every line carries a trace_id and span_id (an exemplar)
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)"; exit 1; }
# valgrind 3.19 cannot read the DWARF Swift 6 emits ("Possibly corrupted debuginfo"): profile a
# copy without debug info (symbols stay, so function names still show).
stripped=$(mktemp)
objcopy --strip-debug "$bin" "$stripped"
trap 'rm -f "$stripped"' EXIT
ir() {
  local out; out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$stripped" fold --series "$series" --lines "$lines" --trace "$trace" --repeat "$1" >/dev/null 2>&1
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }'
  rm -f "$out"
}
# Each process hashes with its own random seed, so probe lengths (and the count) move by about
# 3 % from run to run: the median of RUNS (3) pairs.
runs=${RUNS:-3}
per=()
for _ in $(seq "$runs"); do
  one=$(ir 1)
  three=$(ir 3)
  per+=($(( (three - one) / (2 * lines) )))
done
median=$(printf '%s\n' "${per[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "instructions per line (parse+fold, $series series$([ "$trace" = 1 ] && echo ', trace_id+span_id')): $median  [callgrind, median of $runs runs: ${per[*]}]"
