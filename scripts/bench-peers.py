#!/usr/bin/env python3
"""tallyd side by side with the daemons users would pick instead, in one run.

    make bench-peers          (part of make bench-report; builds release tallyd and tally first)

The same load for each: `tally load` on CPU 0 sends 20 lines per datagram over loopback as
fast as it can, 1000 series; the daemon under test runs on CPU 1. Each round runs every
daemon back to back (this host is shared and noisy: read medians, and ratios within a
round). Received counts come from each daemon's own /metrics, CPU from /proc/<pid>/stat.

Peers come from variables, so a user with their own copies reproduces the table:
  STATSD_EXPORTER=path/to/statsd_exporter   (default ../shared/peers/statsd_exporter)
  COLLECTD=path/to/collectd                 (default: collectd on PATH or /usr/sbin)
A missing peer is skipped with a line saying so. ROUNDS (3) and SECONDS (5) size the run.
The result replaces the section between the peers markers of docs/performance.md.

Unix datagram sockets queue at most net.unix.max_dgram_qlen datagrams. systemd sets 512 at
boot; a container without systemd keeps the kernel's 10, where a full-speed sender blocks and
gets through one datagram per wakeup. So when this host has less than 512 and we are root, the
run re-executes itself in a private network namespace (unshare -n) with 512, which is what
tallyd sees on a systemd host; BENCH_NETNS=0 measures on the host as it is.
"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from freeport import free_port  # scripts/freeport.py, shared with the test kit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TALLYD = os.environ.get("TALLYD", os.path.join(ROOT, ".build", "release", "tallyd"))
TALLY = os.environ.get("TALLY", os.path.join(ROOT, ".build", "release", "tally"))
STATSD_EXPORTER = os.environ.get("STATSD_EXPORTER", os.path.join(ROOT, "..", "shared", "peers", "statsd_exporter"))
COLLECTD = os.environ.get("COLLECTD", shutil.which("collectd") or "/usr/sbin/collectd")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
SECONDS = float(os.environ.get("SECONDS", "5"))
SERIES = 1000
OUT = os.path.join(ROOT, "docs", "performance.md")
# The medians and ratios for scripts/performance-report.py's target table (make bench-report).
RESULTS = os.path.join(ROOT, ".build", "bench-peers.json")
BEGIN, END = "<!-- peers:begin (scripts/bench-peers.py) -->", "<!-- peers:end -->"
TICK = os.sysconf("SC_CLK_TCK")
TWO_CORES = (os.cpu_count() or 1) >= 2
UNIX_QLEN = "/proc/sys/net/unix/max_dgram_qlen"
WANTED_QLEN = 512
# Besides loopback, an address that is not one: getaddrinfo's AI_ADDRCONFIG (collectd's
# write_prometheus uses it) finds no address to listen on where only loopback has any.
SETUP_NETNS = (f"ip link set lo up && ip addr add 10.255.255.1/32 dev lo && ip addr add fd00:7a11::1/128 dev lo "
               f"&& echo {WANTED_QLEN} > {UNIX_QLEN}")


def unix_queue_length():
    try:
        with open(UNIX_QLEN) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def reexec_with_systemds_unix_queue():
    """Re-executes this script in a network namespace of its own with net.unix.max_dgram_qlen
    at 512 (see the module's doc), if this host has less and that is possible; returns if not."""
    qlen = unix_queue_length()
    if os.environ.get("BENCH_NETNS") == "0" or os.environ.get("BENCH_HOST_QLEN") or qlen is None \
            or qlen >= WANTED_QLEN:
        return
    probe = ["unshare", "-n", "sh", "-c", SETUP_NETNS]
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip") \
            or subprocess.run(probe, capture_output=True).returncode != 0:
        print(f"net.unix.max_dgram_qlen is {qlen} (systemd sets {WANTED_QLEN}) and a network namespace "
              "with more cannot be made here (needs root, unshare and ip): the Unix row is measured at "
              f"{qlen}", flush=True)
        return
    print(f"net.unix.max_dgram_qlen is {qlen} here; measuring in a network namespace with {WANTED_QLEN}, "
          "as systemd sets it (BENCH_NETNS=0 to measure as the host is)", flush=True)
    os.execvpe("unshare", ["unshare", "-n", "sh", "-c", SETUP_NETNS + ' && exec "$@"', "sh", sys.executable,
                           os.path.abspath(__file__), *sys.argv[1:]], {**os.environ, "BENCH_HOST_QLEN": str(qlen)})


def pinned(cpu, args):
    return (["taskset", "-c", str(cpu)] if TWO_CORES and shutil.which("taskset") else []) + args


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.read().decode()


def sample_value(line):
    rest = line.split("}", 1)[1] if "}" in line else line.split(" ", 1)[1]
    return float(rest.split()[0])


def sum_samples(text, name):
    return sum(sample_value(line) for line in text.splitlines()
               if line.startswith(name) and len(line) > len(name) and line[len(name)] in " {")


def wait_http(port, proc, what):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            metrics(port)
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{what} did not answer on :{port}")


class Daemon:
    """One daemon under test: start(), received(), pid, stop()."""

    def __init__(self, name, lines):
        self.name, self.lines = name, lines
        self.dir = tempfile.TemporaryDirectory(prefix=f"peers-{name}-")
        self.port = free_port()
        self.web = free_port()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.dir.cleanup()


class Tallyd(Daemon):
    def __init__(self, lines, transport="udp"):
        super().__init__("tallyd", lines)
        self.transport = transport
        self.unix = os.path.join(self.dir.name, "ingest.sock")

    def start(self):
        config = os.path.join(self.dir.name, "tallyd.yaml")
        with open(config, "w") as f:
            f.write(f'ingest: {{udp: ["127.0.0.1:{self.port}"], tcp: ["127.0.0.1:{self.port}"], '
                    f'unix: [{{path: {self.unix}}}]}}\n'
                    f"admin: {{address: 127.0.0.1, port: {self.web}}}\n"
                    f"services: {{order_executor: {{port: {free_port()}}}}}\ndefault_service: order_executor\n")
        self.proc = subprocess.Popen(pinned(1, [TALLYD, "--config", config]), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_http(self.web, self.proc, "tallyd")

    def target(self):
        return {"udp": ["--udp", f"127.0.0.1:{self.port}"], "unix": ["--unix", self.unix],
                "tcp": ["--tcp", f"127.0.0.1:{self.port}"]}[self.transport]

    def received(self):
        return sum_samples(metrics(self.web), "tally_lines_received_total")


class StatsdExporter(Daemon):
    def __init__(self, lines):
        super().__init__("statsd_exporter", lines)

    def start(self):
        self.proc = subprocess.Popen(pinned(1, [STATSD_EXPORTER, f"--statsd.listen-udp=127.0.0.1:{self.port}",
                                                "--statsd.listen-tcp=", f"--web.listen-address=127.0.0.1:{self.web}"]),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(self.web, self.proc, "statsd_exporter")

    def target(self):
        return ["--udp", f"127.0.0.1:{self.port}"]

    def received(self):
        return sum_samples(metrics(self.web), "statsd_exporter_lines_total")


class Collectd(Daemon):
    """collectd's statsd plugin; what it received is the sum of its counters, which
    write_prometheus shows after each 1 s interval."""

    def __init__(self, lines):
        super().__init__("collectd", lines)

    def start(self):
        config = os.path.join(self.dir.name, "collectd.conf")
        with open(config, "w") as f:
            f.write(f'Hostname "bench"\nFQDNLookup false\nInterval 1\nBaseDir "{self.dir.name}"\nPIDFile "{self.dir.name}/collectd.pid"\n'
                    f'LoadPlugin statsd\n<Plugin statsd>\n  Host "127.0.0.1"\n  Port "{self.port}"\n</Plugin>\n'
                    f'LoadPlugin write_prometheus\n<Plugin write_prometheus>\n  Port "{self.web}"\n</Plugin>\n')
        self.proc = subprocess.Popen(pinned(1, [COLLECTD, "-f", "-C", config]), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_http(self.web, self.proc, "collectd")

    def target(self):
        return ["--udp", f"127.0.0.1:{self.port}"]

    def received(self):
        return sum_samples(metrics(self.web), "collectd_statsd_derive_total")


def measure(daemon):
    daemon.start()
    try:
        time.sleep(0.5)
        before, cpu0 = daemon.received(), cpu_seconds(daemon.proc.pid)
        out = subprocess.run(pinned(0, [TALLY, "load", *daemon.target(), "--shape", daemon.lines,
                                        "--identity-tag", "service_name", "--series", str(SERIES),
                                        "--lines-per-packet", "20", "--duration", f"{SECONDS}s", "--admin", "none"]),
                             capture_output=True, text=True, timeout=SECONDS + 60)
        if out.returncode != 0:
            sys.exit(f"tally load failed: {out.stderr}")
        result = dict(kv.split("=") for kv in out.stdout.strip().splitlines()[-1].split()[1:])
        # Let it empty its queues (collectd publishes once per interval).
        last, settle = daemon.received(), time.monotonic() + 5
        time.sleep(1.2)
        while time.monotonic() < settle:
            time.sleep(0.3)
            now = daemon.received()
            if now == last:
                break
            last = now
        received = daemon.received() - before
        cpu = cpu_seconds(daemon.proc.pid) - cpu0
        seconds = float(result["seconds"])
        sent = int(result["sent_lines"])
        return {"lps": received / seconds, "cpu_per_m": cpu / received * 1e6 if received else 0.0,
                "loss": 1 - received / sent if sent else 0.0}
    finally:
        daemon.stop()


def main():
    for path, what in [(TALLYD, "tallyd"), (TALLY, "tally")]:
        if not os.path.exists(path):
            sys.exit(f"{what} not built at {path} (make release)")
    reexec_with_systemds_unix_queue()
    runs = [("tallyd", "tagged", lambda: Tallyd("tagged")),
            ("statsd_exporter", "tagged", lambda: StatsdExporter("tagged")),
            ("tallyd", "plain", lambda: Tallyd("plain")),
            ("collectd", "plain", lambda: Collectd("plain")),
            ("tallyd (unix)", "tagged", lambda: Tallyd("tagged", "unix")),
            ("tallyd (tcp)", "tagged", lambda: Tallyd("tagged", "tcp"))]
    skipped = []
    if not os.path.exists(STATSD_EXPORTER):
        skipped.append(f"statsd_exporter: not found at {STATSD_EXPORTER} (set STATSD_EXPORTER=)")
    if not os.path.exists(COLLECTD):
        skipped.append(f"collectd: not found at {COLLECTD} (apt-get install collectd-core libmicrohttpd12 "
                       "libprotobuf-c1, or set COLLECTD=)")
    runs = [r for r in runs if not any(s.startswith(r[0] + ":") for s in skipped)]
    for s in skipped:
        print("skipped", s)
    results = {(name, lines): [] for name, lines, _ in runs}
    for n in range(ROUNDS):
        for name, lines, make in runs:
            r = measure(make())
            results[(name, lines)].append(r)
            print(f"round {n + 1}: {name:16} {lines:7} {r['lps'] / 1e6:6.3f}M lines/s received, "
                  f"{r['cpu_per_m']:.3f} CPU-s per million, loss {r['loss'] * 100:.1f}%", flush=True)

    def med(key, field):
        return statistics.median(x[field] for x in results[key]) if key in results and results[key] else None

    def ratios(a, b):
        if a not in results or b not in results:
            return None
        return [x["lps"] / y["lps"] for x, y in zip(results[a], results[b]) if y["lps"] > 0]

    md = [BEGIN, "", "## Side by side with the peers", "",
          f"`make bench-peers`, {time.strftime('%Y-%m-%d')}: `tally load` on CPU 0 sends 20 lines per UDP datagram "
          f"over loopback as fast as it can, {SERIES} series, {SECONDS:g} s per run; the daemon on CPU 1; "
          f"{ROUNDS} rounds, each running every daemon back to back. Received lines from each daemon's own "
          "/metrics, CPU from /proc." + (
              f" Run in a network namespace of its own with net.unix.max_dgram_qlen {unix_queue_length()}, "
              f"as systemd sets it at boot (this host has {os.environ['BENCH_HOST_QLEN']}, the kernel's "
              "default: a full-speed Unix sender then gets through one datagram per wakeup)."
              if os.environ.get("BENCH_HOST_QLEN") else
              f" net.unix.max_dgram_qlen {unix_queue_length()}."), "",
          "| daemon | lines | received lines/s, per round | median | CPU-s per million lines (median) | loss at max load (median) |",
          "|---|---|---|---|---|---|"]
    # `|` inside a table cell must be escaped, even in code.
    shapes = {"tagged": "DogStatsD `orders_placed_total:1\\|c\\|#service_name:…,order_type:limit,symbol:SYM<n>,side:buy`",
              "plain": "plain `orders_placed_total.S<n>:1\\|c`"}
    for name, lines, _ in runs:
        key = (name, lines)
        per = ", ".join(f"{x['lps'] / 1e6:.2f}M" for x in results[key])
        md.append(f"| {name} | {shapes[lines]} | {per} | {med(key, 'lps') / 1e6:.2f}M | {med(key, 'cpu_per_m'):.2f} | "
                  f"{med(key, 'loss') * 100:.0f} % |")
    md.append("")
    unix, udp = med(("tallyd (unix)", "tagged"), "lps"), med(("tallyd", "tagged"), "lps")
    if unix and udp:
        md.append(f"- tallyd over a Unix datagram socket (the sender blocks instead of losing): {unix / 1e6:.2f}M "
                  f"lines/s, {unix / udp:.2f}× its UDP figure; over TCP "
                  f"{med(('tallyd (tcp)', 'tagged'), 'lps') / 1e6:.2f}M.")
    tagged = ratios(("tallyd", "tagged"), ("statsd_exporter", "tagged"))
    plain = ratios(("tallyd", "plain"), ("collectd", "plain"))
    if tagged:
        md.append(f"- Tagged lines, tallyd ÷ statsd_exporter within each round: "
                  f"{', '.join(f'{x:.1f}×' for x in tagged)}; median **{statistics.median(tagged):.1f}×** "
                  "(target 15×).")
    if plain:
        md.append(f"- Plain lines, tallyd ÷ collectd within each round: {', '.join(f'{x:.2f}×' for x in plain)}; "
                  f"median **{statistics.median(plain):.2f}×** (target 1.5×).")
    for s in skipped:
        md.append(f"- Skipped {s}.")
    md += ["", END]
    summary = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rounds": ROUNDS, "seconds": SECONDS,
               "unix_qlen": unix_queue_length(), "host_unix_qlen": os.environ.get("BENCH_HOST_QLEN"),
               "skipped": skipped,
               "median": {f"{name}|{lines}": {"lps": med((name, lines), "lps"), "cpu_per_m": med((name, lines), "cpu_per_m"),
                                              "loss": med((name, lines), "loss")} for name, lines, _ in runs},
               "tagged_ratios": tagged or [], "plain_ratios": plain or []}
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(summary, f, indent=1)
    section = "\n".join(md) + "\n"
    print(section)
    text = open(OUT).read() if os.path.exists(OUT) else "# Performance\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section.rstrip("\n") + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote the peers section of {OUT}")


if __name__ == "__main__":
    main()
