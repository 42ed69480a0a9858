#!/usr/bin/env bash
# Startup time (exec to /-/ready answering 200) and RSS at idle (2 s after ready) of a tallyd
# binary on its embedded default config, in a network namespace of its own (the default ports
# are free there; nothing leaves its loopback). Medians of RUNS (default 5).
#   scripts/startup-rss.sh [TALLYD]   (default .build/release/tallyd; needs root for unshare)
set -euo pipefail
bin=$(realpath "${1:-.build/release/tallyd}")
runs=${RUNS:-5}
unshare --net --fork /bin/bash -ec '
ip link set lo up
bin=$1; runs=$2
for i in $(seq "$runs"); do
  t0=$(date +%s%N)
  "$bin" --state-file /tmp/startup-rss-$$.state > /dev/null 2>&1 &
  pid=$!
  n=0
  until curl -sf -o /dev/null http://127.0.0.1:9102/-/ready; do
    n=$((n+1)); [ $n -le 1000 ] || { echo "not ready after 10 s" >&2; kill $pid; exit 1; }
    sleep 0.01
  done
  t1=$(date +%s%N)
  sleep 2
  rss=$(awk "/^VmRSS/ {print \$2}" /proc/$pid/status)
  kill -TERM $pid; wait $pid || true
  rm -f /tmp/startup-rss-$$.state
  echo "$(( (t1 - t0) / 1000000 )) $rss"
done' _ "$bin" "$runs" | python3 -c '
import statistics, sys
rows = [tuple(map(int, l.split())) for l in sys.stdin if l.strip()]
ms = statistics.median(r[0] for r in rows)
rss = statistics.median(r[1] for r in rows) / 1024
print(f"{sys.argv[1]}: startup {ms:.0f} ms, idle RSS {rss:.1f} MiB (medians of {len(rows)})")' "$bin"
