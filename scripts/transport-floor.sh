#!/usr/bin/env bash
# What the kernel charges the receiver per datagram, UDP against Unix, with tallyd taken out:
# Benchmarks/transport-floor/sink.c reads as tallyd's loop does and spends WORK iterations of
# arithmetic per datagram instead of folding (1000: 1.45 us of user time, about what tallyd
# spends on a datagram of 20 tagged lines; Intel host, 2026-12-05). `tally load` sends the
# tagged lines of make bench-peers (20 a datagram, 1000 series) on CPU 0, the sink runs on
# CPU 1; ROUNDS (5) rounds of SECONDS_EACH (4) s, each running both transports back to back.
# As root with unshare, in a network namespace with net.unix.max_dgram_qlen 512 (systemd's
# value), like bench-peers; elsewhere as the host is.
#
#   make release && scripts/transport-floor.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tally=${TALLY:-$root/.build/release/tally}
[ -x "$tally" ] || { echo "tally not built at $tally (make release)"; exit 1; }
rounds=${ROUNDS:-5}
secs=${SECONDS_EACH:-4}
work=${WORK:-1000}
dir=$(mktemp -d)
sink=
trap 'if [ -n "$sink" ]; then kill "$sink" 2>/dev/null || true; fi; rm -rf "$dir"' EXIT
compiler=${CC:-$(command -v cc || command -v clang || echo cc)}
"$compiler" -O2 -o "$dir/sink" "$root/Benchmarks/transport-floor/sink.c"
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# `exec`: the background sink's pid is then the sink's own, and the TERM reaches it.
pin() { if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then exec taskset -c "$@"; else shift; exec "$@"; fi; }
run() {
    for r in $(seq "$rounds"); do
        for t in udp unix; do
            if [ "$t" = udp ]; then target=(--udp "127.0.0.1:$port"); where=$port; else target=(--unix "$dir/sink.sock"); where=$dir/sink.sock; fi
            (WORK=$work pin 1 "$dir/sink" "$t" "$where" >"$dir/out") &
            sink=$!
            sleep 0.3
            sent=$( (pin 0 "$tally" load "${target[@]}" --shape tagged --identity-tag service_name --series 1000 \
                --lines-per-packet 20 --duration "${secs}s" --admin none) | tail -1)
            sleep 0.3
            kill -TERM "$sink"
            wait "$sink"
            sink=
            read -r _ datagrams _ user sys per < "$dir/out"
            d=${datagrams#datagrams=}
            printf 'round %s %-4s received %6.2fM lines/s  sys %s  user %s  %s  | %s\n' "$r" "$t" \
                "$(awk -v d="$d" -v s="$secs" 'BEGIN { print d * 20 / s / 1e6 }')" "${sys#sys_s=}" "${user#user_s=}" "$per" "${sent#RESULT }"
        done
    done
}
qlen=$(cat /proc/sys/net/unix/max_dgram_qlen 2>/dev/null || echo 0)
if [ "$qlen" -lt 512 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && [ -z "${IN_NETNS:-}" ]; then
    echo "net.unix.max_dgram_qlen is $qlen here: measuring in a network namespace with 512 (as systemd sets it)"
    exec unshare -n env IN_NETNS=1 ROUNDS="$rounds" SECONDS_EACH="$secs" WORK="$work" TALLY="$tally" \
        sh -c 'ip link set lo up && echo 512 > /proc/sys/net/unix/max_dgram_qlen && exec bash "$0"' "$0"
fi
echo "WORK=$work iterations per datagram; net.unix.max_dgram_qlen $qlen"
run
