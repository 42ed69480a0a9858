#!/usr/bin/env python3
"""Measures every figure of the performance table and writes docs/performance.md.

    make bench-report            (builds release tallyd, tally and tally-bench first)

Nothing in docs/performance.md is typed by hand: rerun this to refresh it. Timed figures are
medians of repeated runs on a shared, noisy machine; the instruction and allocation counts
come from callgrind and do not depend on the machine's load.
"""
import importlib.util
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from freeport import free_port  # scripts/freeport.py, shared with the test kit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "Benchmarks", ".build", "release", "tally-bench")
TALLYD = os.path.join(ROOT, ".build", "release", "tallyd")
TALLY = os.path.join(ROOT, ".build", "release", "tally")
OUT = os.path.join(ROOT, "docs", "performance.md")
QUICK = os.environ.get("QUICK") == "1"  # shorter runs while developing the script
# REUSE=1 takes the micro, callgrind and baseline figures of the last run (they take ~20
# minutes, swift-prometheus at 100k series alone ~12) and measures only end to end again.
CACHE = os.path.join(ROOT, ".build", "performance-cache.json")
CACHE_VERSION = 2  # raise when micro(), instructions() or baseline() measure other figures
# Written by scripts/bench-peers.py: the end-to-end rows of the target table.
PEERS = os.path.join(ROOT, ".build", "bench-peers.json")
# bench-peers.py's helpers for reading a /metrics page (metrics, sum_samples), used here too.
_spec = importlib.util.spec_from_file_location("bench_peers", os.path.join(ROOT, "scripts", "bench-peers.py"))
PEERS_SCRIPT = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(PEERS_SCRIPT)


def run(*args, timeout=1800):
    print("$", " ".join(args), flush=True)
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{p.stdout}\n{p.stderr}")
    print(p.stdout.strip(), flush=True)
    return p.stdout


def bench(*args, timeout=1800):
    return run(BENCH, *args, timeout=timeout)


def num(pattern, text):
    m = re.search(pattern, text)
    if not m:
        sys.exit(f"pattern {pattern!r} not found in:\n{text}")
    return float(m.group(1))


# ---------------------------------------------------------------- micro benchmarks
def micro():
    r = {}
    for s in [10, 1000, 10_000, 100_000, 1_000_000]:
        out = bench("fold", "--series", str(s))
        r[f"fold_{s}_ns"] = num(r"([\d.]+) ns/line", out)
        r[f"fold_{s}_mlps"] = num(r"([\d.]+)M lines/s", out)
    # The whole fold on its own (every line parsed, tags scanned, key built): what a line
    # costs that the line cache does not hold.
    for s in [1000, 1_000_000]:
        out = bench("fold", "--series", str(s), "--line-cache", "0")
        r[f"fold_whole_{s}_ns"] = num(r"([\d.]+) ns/line", out)
    out = bench("mixed")
    r["mixed_ns"] = num(r"([\d.]+) ns/line", out)
    r["mixed_mlps"] = num(r"([\d.]+)M lines/s", out)
    for s in [10_000, 100_000, 1_000_000]:
        out = bench("render", "--series", str(s), *(["--gzip", "1"] if s == 1_000_000 else []))
        r[f"render_{s}_ms"] = num(r"median ([\d.]+) ms", out)
        r[f"render_{s}_bps"] = num(r"\((\d+) bytes/series\)", out)
    r["render_gzip_1000000_ms"] = num(r"render \+ gzip \d+ series \(text\): median ([\d.]+) ms", out)
    r["render_gzip_1000000_bps"] = num(r"\(([\d.]+) bytes/series\)\s*$", out)
    out = bench("memory", "--series", "1000000")
    r["mem_counter"] = num(r"= (\d+) bytes/series", out)
    r["mem_counter_rss"] = num(r"RSS \+(-?\d+) bytes/series", out)
    out = bench("memory-histogram", "--series", "1000000")
    r["mem_hist"] = num(r"= (\d+) bytes/series", out)
    r["mem_hist_rss"] = num(r"RSS \+(-?\d+) bytes/series", out)
    return r


def baseline():
    r = {}
    sizes = [10_000] if QUICK else [10_000, 100_000]
    for s in sizes:
        out = bench("baseline", "--series", str(s), "--repeat", "3" if s <= 10_000 else "1", timeout=3600)
        r[f"create_{s}_tally_ms"] = num(r"create \d+ series: tally ([\d.]+) ms", out)
        r[f"create_{s}_prom_ms"] = num(r"swift-prometheus ([\d.]+) ms \(pre-parsed\)", out)
        r[f"render_{s}_tally_ms"] = num(r"render \d+ series: tally ([\d.]+) ms", out)
        r[f"render_{s}_prom_ms"] = num(r"swift-prometheus ([\d.]+) ms \(\d+ bytes\)", out)
    s = sizes[-1]
    out = bench("baseline-memory", "--series", str(s), timeout=3600)
    r["prom_mem_heap"] = num(r"heap \+\d+ bytes = (\d+) bytes/series", out)
    r["prom_mem_rss"] = num(r"RSS \+(-?\d+) bytes/series", out)
    out = bench("memory", "--series", str(s))
    r["tally_mem_same"] = num(r"= (\d+) bytes/series", out)
    r["tally_mem_same_rss"] = num(r"RSS \+(-?\d+) bytes/series", out)
    r["baseline_series"] = s
    return r


# ---------------------------------------------------------------- callgrind
def callgrind(repeat, lines, series):
    stripped = os.path.join(tempfile.gettempdir(), "tally-bench-stripped")
    # valgrind 3.19 cannot read the DWARF Swift 6 emits; symbols are enough.
    subprocess.run(["objcopy", "--strip-debug", BENCH, stripped], check=True)
    out = os.path.join(tempfile.gettempdir(), f"tally-callgrind-{repeat}.out")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", stripped, "fold",
                    "--series", str(series), "--lines", str(lines), "--repeat", str(repeat)],
                   check=True, capture_output=True, timeout=3600)
    total = 0
    mallocs = 0
    refcounts = {"retain": 0, "release": 0}
    names = {}
    current_cfn = None
    current_fn = ""
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
            m = re.match(r"(c?)fn=\((\d+)\)(?: (.*))?", line)
            if m:
                if m.group(3):
                    names[m.group(2)] = m.group(3).strip()
                if m.group(1):
                    current_cfn = names.get(m.group(2), "")
                else:
                    current_fn = names.get(m.group(2), "")
                continue
            if line.startswith("calls=") and current_cfn in ("malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc"):
                mallocs += int(line.split("=")[1].split()[0])
            # Only calls made by tally's own code (TallyCore), not by the bench's loop around it.
            if line.startswith("calls=") and current_fn.startswith("$s9TallyCore"):
                if current_cfn in ("swift_retain", "swift_retain_n", "swift_bridgeObjectRetain", "swift_bridgeObjectRetain_n"):
                    refcounts["retain"] += int(line.split("=")[1].split()[0])
                if current_cfn in ("swift_release", "swift_release_n", "swift_bridgeObjectRelease", "swift_bridgeObjectRelease_n"):
                    refcounts["release"] += int(line.split("=")[1].split()[0])
    os.remove(out)
    return total, mallocs, refcounts


def instructions():
    """Per line, from a fold run once and three times (the difference is two folds of the same
    lines, so building the corpus and creating the series cancel out): instructions, heap
    allocations and reference-count calls, at 1000 series (the end-to-end line) and 10k."""
    if shutil.which("valgrind") is None or shutil.which("objcopy") is None:
        return {}
    lines = 200_000
    r = {}
    for series in [1000, 10_000]:
        # Each process hashes with its own random seed, so probe lengths (and the count) move
        # by about 3 % from run to run: the median of three pairs.
        irs = []
        for _ in range(3):
            ir1, m1, rc1 = callgrind(1, lines, series)
            ir3, m3, rc3 = callgrind(3, lines, series)
            if m1 == 0 or rc1["retain"] == 0:  # building the registry allocates and retains
                sys.exit("callgrind output had no malloc or TallyCore swift_retain calls; the counts would be meaningless")
            irs.append((ir3 - ir1) / (2 * lines))
        # A handful of calls either way (stats, buffer growth) is noise, not a per-line cost.
        r[f"ir_per_line_{series}"] = statistics.median(irs)
        r[f"allocs_per_line_{series}"] = max(0.0, (m3 - m1) / (2 * lines))
        r[f"retains_per_line_{series}"] = max(0.0, (rc3["retain"] - rc1["retain"]) / (2 * lines))
        r[f"releases_per_line_{series}"] = max(0.0, (rc3["release"] - rc1["release"]) / (2 * lines))
    return r


# ---------------------------------------------------------------- end to end
def load(args, seconds):
    out = run(TALLY, "load", *args, "--duration", f"{seconds}s", timeout=seconds + 60)
    m = re.search(r"^RESULT (.*)$", out, re.M)
    return {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}


def end_to_end():
    d = tempfile.mkdtemp(prefix="tally-perf-")
    udp, tcp, admin = free_port(socket.SOCK_DGRAM), free_port(), free_port()
    sock = os.path.join(d, "ingest.sock")
    services = {n: free_port() for n in ["strategy_service", "risk_manager", "alert_system", "api_gateway",
                                         "market_data_service", "order_executor"]}
    cfg = os.path.join(d, "tallyd.yaml")
    with open(cfg, "w") as f:
        f.write(f'ingest:\n  udp: ["127.0.0.1:{udp}"]\n  tcp: ["127.0.0.1:{tcp}"]\n  unix: [{{path: {sock}}}]\n')
        f.write(f'admin: {{address: 127.0.0.1, port: {admin}}}\nservices:\n')
        for n, p in services.items():
            f.write(f"  {n}: {{port: {p}}}\n")
        f.write("limits: {max_series_per_family: 2000000, max_series_per_service: 2000000}\nlog_level: error\n")
    log = open(os.path.join(d, "tallyd.log"), "w")
    proc = subprocess.Popen([TALLYD, "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{admin}/healthz", timeout=1)
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    log.flush()
                    sys.exit(f"tallyd did not come up (exit {proc.poll()}):\n" + open(os.path.join(d, "tallyd.log")).read())
                time.sleep(0.1)
        adm = ["--admin", f"127.0.0.1:{admin}"]
        secs = 2 if QUICK else 5
        r = {}
        common = ["--lines-per-packet", "20", "--series", "10000"]
        r["udp_max"] = load(["--udp", f"127.0.0.1:{udp}", *common, *adm], secs)
        # The highest offered rate that arrives without a single kernel drop.
        best = None
        for rate in [500_000, 1_000_000, 1_500_000, 2_000_000]:
            res = load(["--udp", f"127.0.0.1:{udp}", "--rate", str(rate), *common, *adm], secs)
            if res["drops"] == 0 and res["received"] >= res["sent_lines"]:
                best = (rate, res)
        r["udp_clean"] = best
        r["unix_max"] = load(["--unix", sock, *common, *adm], secs)
        r["tcp_max"] = load(["--tcp", f"127.0.0.1:{tcp}", *common, *adm], secs)

        # Scrape latency at 100k series while ingest runs at 500k lines/s.
        load(["--udp", f"127.0.0.1:{udp}", "--rate", "1000000", "--lines-per-packet", "20", "--series", "100000",
              "--service", "strategy_service", *adm], 2)
        bg = subprocess.Popen([TALLY, "load", "--udp", f"127.0.0.1:{udp}", "--rate", "500000", *common,
                               "--duration", "6s", "--admin", "none"], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        times = []
        size = 0
        for _ in range(9):
            t0 = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{services['strategy_service']}/metrics", timeout=30) as resp:
                size = len(resp.read())
            times.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.2)
        bg.wait(timeout=30)
        r["scrape_100k_ms"] = statistics.median(times)
        r["scrape_100k_bytes"] = size
        r["scrape_1m"] = scrape_while_ingesting(udp, sock, admin, services["risk_manager"])
        return r
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(d, ignore_errors=True)


def admin_counters(admin):
    """(lines received, kernel UDP drops, when) from tallyd's admin /metrics."""
    text = PEERS_SCRIPT.metrics(admin)
    return (PEERS_SCRIPT.sum_samples(text, "tally_lines_received_total"),
            PEERS_SCRIPT.sum_samples(text, "tally_udp_receive_drops_total"), time.perf_counter())


def scrape_while_ingesting(udp, sock, admin, port):
    """One service with 1M series, scraped while 1M lines/s arrive over UDP: the received rate
    in windows around each scrape against windows without one, and the kernel's drops in each."""
    common = ["--service", "risk_manager", "--admin", "none"]
    # 1M series over the Unix socket (it blocks the sender, so every line arrives): 100 lines
    # per datagram, as tally load keeps at most 16384 datagrams of distinct lines.
    load(["--unix", sock, "--series", "1000000", "--lines-per-packet", "100", *common], 4 if QUICK else 6)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as resp:
        series = sum(1 for line in resp.read().decode().splitlines() if line.startswith("orders_placed_total{"))
    seconds = 10 if QUICK else 16
    bg = subprocess.Popen([TALLY, "load", "--udp", f"127.0.0.1:{udp}", "--rate", "1000000", "--series", "1000",
                           "--lines-per-packet", "20", "--duration", f"{seconds}s", *common],
                          stdout=subprocess.DEVNULL)
    quiet, during, quiet_drops, during_drops, scrape_ms = [], [], 0.0, 0.0, []
    try:
        time.sleep(1.5)
        for _ in range(2 if QUICK else 4):
            a = admin_counters(admin)
            time.sleep(1.0)
            b = admin_counters(admin)
            quiet.append((b[0] - a[0]) / (b[2] - a[2]))
            quiet_drops += b[1] - a[1]
            c = admin_counters(admin)
            t0 = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as resp:
                resp.read()
            scrape_ms.append((time.perf_counter() - t0) * 1000)
            d = admin_counters(admin)
            during.append((d[0] - c[0]) / (d[2] - c[2]))
            during_drops += d[1] - c[1]
            time.sleep(0.5)
    finally:
        bg.wait(timeout=seconds + 60)
    q = statistics.median(quiet)
    return {"series": series, "quiet_lps": q, "during_lps": min(during), "during_median_lps": statistics.median(during),
            "dip": max(0.0, 1 - min(during) / q) if q else 1.0, "quiet_drops": quiet_drops, "during_drops": during_drops,
            "scrape_ms": statistics.median(scrape_ms), "scrapes": len(scrape_ms)}


# ---------------------------------------------------------------- report
def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "swift": next((line for line in swift if "Swift version" in line), "?").strip(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def verdict(ok):
    return "met" if ok else "**not met**"


def main():
    import json
    m = machine()
    cached = None
    if os.environ.get("REUSE") == "1" and os.path.exists(CACHE):
        with open(CACHE) as f:
            cached = json.load(f)
        # A cache from an older version of this script lacks figures the table now shows.
        if cached.get("version") != CACHE_VERSION:
            print(f"REUSE=1: {CACHE} was written by an older version of this script; measuring afresh")
            cached = None
    if cached:
        mi, ins, bl = cached["micro"], cached["instructions"], cached["baseline"]
        m["date"] = cached["date"] + " (micro and baseline); end to end " + m["date"]
    else:
        mi = micro()
        ins = instructions()
        bl = baseline()
        os.makedirs(os.path.dirname(CACHE), exist_ok=True)
        with open(CACHE, "w") as f:
            json.dump({"version": CACHE_VERSION, "micro": mi, "instructions": ins, "baseline": bl, "date": m["date"]}, f)
    e2e = end_to_end()

    def fmt_m(x):
        return f"{x / 1e6:.2f}M"

    peers = None
    if os.path.exists(PEERS):
        with open(PEERS) as f:
            peers = json.load(f)

    def peer(name, lines):
        return (peers or {}).get("median", {}).get(f"{name}|{lines}")

    rows = []
    # The end-to-end rows come from scripts/bench-peers.py's run (make bench-report runs it first).
    never = "not measured: run `make bench-peers` (statsd_exporter and collectd side by side)"
    for lines, peer_name, ratio_key, want_ratio, want_cpu, shape in [
            ("tagged", "statsd_exporter", "tagged_ratios", 15, 0.30, "tagged DogStatsD lines, 4 labels"),
            ("plain", "collectd", "plain_ratios", 1.5, 0.20, "plain lines")]:
        t, p = peer("tallyd", lines), peer(peer_name, lines)
        target = f"≥ {want_ratio:g}× {peer_name} (median of the rounds), ≤ {want_cpu:.2f} CPU-s per million lines"
        ratios = (peers or {}).get(ratio_key) or []
        if t and p and ratios:
            ratio = statistics.median(ratios)
            digits = 1 if want_ratio >= 10 else 2
            rows.append((f"end to end, UDP, {shape}, 1000 series", target,
                         f"**{ratio:.{digits}f}×** (per round {', '.join(f'{x:.{digits}f}×' for x in ratios)}): tallyd {fmt_m(t['lps'])} "
                         f"lines/s at {t['cpu_per_m']:.2f} CPU-s per million, {peer_name} {fmt_m(p['lps'])} at {p['cpu_per_m']:.2f}",
                         verdict(ratio >= want_ratio and t["cpu_per_m"] <= want_cpu)))
        else:
            rows.append((f"end to end, UDP, {shape}, 1000 series", target, never if not t else
                         f"tallyd {fmt_m(t['lps'])} lines/s at {t['cpu_per_m']:.2f} CPU-s per million; {peer_name} was skipped",
                         "**not measured**"))
    udp_t, unix_t, tcp_t = peer("tallyd", "tagged"), peer("tallyd (unix)", "tagged"), peer("tallyd (tcp)", "tagged")
    if udp_t and unix_t and tcp_t:
        rows.append(("end to end, Unix datagram and TCP, tagged", "≥ the UDP figure",
                     f"Unix {fmt_m(unix_t['lps'])} lines/s ({unix_t['lps'] / udp_t['lps']:.2f}× UDP), TCP {fmt_m(tcp_t['lps'])} "
                     f"({tcp_t['lps'] / udp_t['lps']:.2f}× UDP); UDP {fmt_m(udp_t['lps'])}"
                     + (f" (net.unix.max_dgram_qlen {peers['unix_qlen']}"
                        + (f", in a network namespace: the host has {peers['host_unix_qlen']}, systemd sets 512"
                           if peers.get("host_unix_qlen") else "") + ")" if peers.get("unix_qlen") else ""),
                     verdict(unix_t["lps"] >= udp_t["lps"] and tcp_t["lps"] >= udp_t["lps"])))
    else:
        rows.append(("end to end, Unix datagram and TCP, tagged", "≥ the UDP figure", never, "**not measured**"))
    rows.append(("parse + fold, the end-to-end tagged line, 1000 / 10k / 1M series", "≤ 150 / 170 / 300 ns per line",
                 f"{mi['fold_1000_ns']:.0f} / {mi['fold_10000_ns']:.0f} / {mi['fold_1000000_ns']:.0f} ns per line",
                 verdict(mi["fold_1000_ns"] <= 150 and mi["fold_10000_ns"] <= 170 and mi["fold_1000000_ns"] <= 300)))
    if ins:
        rows.append(("heap allocations and retain/release per line, existing series (callgrind, 1000 and 10k series)",
                     "0 allocations; 0 retain/release from the fold",
                     f"allocations {ins['allocs_per_line_1000']:.4f} / {ins['allocs_per_line_10000']:.4f}; "
                     f"swift_retain {ins['retains_per_line_1000']:.4f} / {ins['retains_per_line_10000']:.4f}, "
                     f"swift_release {ins['releases_per_line_1000']:.4f} / {ins['releases_per_line_10000']:.4f} calls per line "
                     "(TallyCore's calls only: a few per run, for the stats)",
                     verdict(max(ins[k] for k in ins if "per_line_" in k and not k.startswith("ir_")) < 0.001)))
    rows.append(("render one endpoint, 1M series", "≤ 250 ms; gzip on top ≤ 2× that",
                 f"{mi['render_1000000_ms']:.0f} ms; with gzip {mi['render_gzip_1000000_ms']:.0f} ms "
                 f"({mi['render_gzip_1000000_ms'] / mi['render_1000000_ms']:.2f}×, {mi['render_gzip_1000000_bps']:.1f} bytes/series gzipped)",
                 verdict(mi["render_1000000_ms"] <= 250 and mi["render_gzip_1000000_ms"] <= 2 * mi["render_1000000_ms"])))
    sc = e2e["scrape_1m"]
    rows.append(("scrape of 1M series while ingesting 1M lines/s (UDP)", "no kernel drops, ingest rate dips ≤ 10 % during the scrape",
                 f"{sc['series']:,} series, scrape {sc['scrape_ms']:.0f} ms (median of {sc['scrapes']}); received "
                 f"{fmt_m(sc['quiet_lps'])} lines/s between scrapes, {fmt_m(sc['during_lps'])} in the slowest scrape "
                 f"(dip {sc['dip'] * 100:.0f} %); kernel drops {int(sc['during_drops'])} during scrapes, {int(sc['quiet_drops'])} between",
                 verdict(sc["series"] >= 1_000_000 and sc["dip"] <= 0.10 and sc["during_drops"] == 0 and sc["quiet_drops"] == 0)))
    rows.append(("memory", "≤ 80 B per counter series, ≤ 210 B per 12-bucket histogram series",
                 f"{mi['mem_counter']:.0f} B per counter series ({mi['mem_counter_rss']:.0f} B RSS), {mi['mem_hist']:.0f} B per histogram "
                 f"series ({mi['mem_hist_rss']:.0f} B RSS), 1M series each",
                 verdict(mi["mem_counter"] <= 80 and mi["mem_hist"] <= 210)))
    clean = e2e["udp_clean"]
    bs = bl["baseline_series"]
    create_ratio = bl[f"create_{bs}_prom_ms"] / bl[f"create_{bs}_tally_ms"]
    mem_ratio = bl["prom_mem_heap"] / bl["tally_mem_same"]

    md = []
    md.append("# Performance\n")
    md.append("Generated by `scripts/performance-report.py` (`make bench-report`); do not edit by hand.\n")
    md.append(f"Machine: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}, {m['swift']}; measured {m['date']}."
              " The machine is shared: timed figures are medians of 5 runs (fold, render) and drift by ±20% between runs;"
              " callgrind counts move by about 3 % with each process's random hash seed, so they are the median of 3 runs.\n")
    md.append("## Targets\n")
    md.append("The targets of issue 15 (performance, round two). The end-to-end rows are the peers run below"
              + (f" ({peers['date']}, {peers['rounds']} rounds of {peers['seconds']:g} s)" if peers else "")
              + ": `tally load` on one core, the daemon on the other, 20 lines per datagram.\n")
    md.append("| figure | target | measured | |")
    md.append("|---|---|---|---|")
    for r in rows:
        md.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} |")
    md.append("\n## All figures\n")
    md.append("| figure | value |")
    md.append("|---|---|")
    for s in [10, 1000, 10_000, 100_000, 1_000_000]:
        md.append(f"| parse + fold counters, {s:,} series, one core | {mi[f'fold_{s}_ns']:.0f} ns/line, {mi[f'fold_{s}_mlps']:.2f}M lines/s, {mi[f'fold_{s}_ns'] / 1000:.3f} CPU-s per million lines |")
    md.append(f"| parse + fold counters without the line cache (every line the whole fold), 1,000 / 1,000,000 series | {mi['fold_whole_1000_ns']:.0f} / {mi['fold_whole_1000000_ns']:.0f} ns/line |")
    md.append(f"| parse + fold, mixed corpus (45 families, DogStatsD tags, 10% timers, 5% sampled) | {mi['mixed_ns']:.0f} ns/line, {mi['mixed_mlps']:.2f}M lines/s |")
    if ins:
        for n in [1000, 10_000]:
            md.append(f"| instructions per line (parse + fold, {n:,} series, callgrind) | {ins[f'ir_per_line_{n}']:.0f} |")
    for s in [10_000, 100_000, 1_000_000]:
        md.append(f"| render one endpoint, {s:,} series | {mi[f'render_{s}_ms']:.1f} ms, {mi[f'render_{s}_bps']:.0f} bytes/series |")
    md.append(f"| render + gzip, 1,000,000 series | {mi['render_gzip_1000000_ms']:.1f} ms, {mi['render_gzip_1000000_bps']:.1f} bytes/series |")
    md.append(f"| scrape over HTTP, 100k series, during 0.5M lines/s ingest | {e2e['scrape_100k_ms']:.1f} ms ({e2e['scrape_100k_bytes']:,} bytes) |")
    for name, key in [("UDP, unthrottled", "udp_max"), ("Unix datagram, unthrottled", "unix_max"), ("TCP, unthrottled", "tcp_max")]:
        x = e2e[key]
        md.append(f"| end to end, {name}, 1 sender | sent {fmt_m(x['sent_lps'])} lines/s, received {fmt_m(x['received'] / x['seconds'])} lines/s, "
                  f"{int(x['drops'])} datagrams dropped, {x['cpu_per_million']:.3f} CPU-s per million lines |")
    if clean:
        md.append(f"| end to end, UDP, highest drop-free rate tried (0.5M, 1M, 1.5M, 2M) | {fmt_m(clean[0])} lines/s, {clean[1]['cpu_per_million']:.3f} CPU-s per million lines |")
    md.append(f"| vs swift-prometheus 2.4.1, same run ({bs // 1000}k series) | creation {create_ratio:.0f}× faster "
              f"({bl[f'create_{bs}_tally_ms']:.0f} ms vs {bl[f'create_{bs}_prom_ms']:.0f} ms); memory {mem_ratio:.1f}× less "
              f"({bl['tally_mem_same']:.0f} vs {bl['prom_mem_heap']:.0f} bytes/series) |")
    for k in sorted(x for x in bl if x.startswith("create_") or x.startswith("render_")):
        md.append(f"| baseline run: {k.replace('_', ' ')} | {bl[k]:.1f} |")
    md.append(f"| swift-prometheus memory, {bl['baseline_series']:,} counters | {bl['prom_mem_heap']:.0f} bytes/series heap, {bl['prom_mem_rss']:.0f} RSS |")
    md.append(f"| tally memory, {bl['baseline_series']:,} counters | {bl['tally_mem_same']:.0f} bytes/series allocated, {bl['tally_mem_same_rss']:.0f} RSS |")
    md.append("\n## How to reproduce\n")
    md.append("```sh\nmake bench-report          # everything above, the peers first (about 20 minutes; swift-prometheus at 100k series alone ~3)\n"
              "make bench-peers           # the peers section and the end-to-end targets (STATSD_EXPORTER=, COLLECTD=)\n"
              "make bench-transport       # the kernel's cost per datagram, UDP against Unix, tallyd taken out\n"
              "make bench-quick           # the micro figures only\nmake bench-instructions    # instructions per line (callgrind)\n"
              "make bench                 # the ordo-one/benchmark suite (wall, CPU, malloc counts)\n"
              "tally load --help          # the load generator against a running tallyd\n```\n")
    md.append("Notes on method: end-to-end runs share the 2 cores between `tally load` (the sender) and"
              " tallyd, so they understate what tallyd does on a host whose services send less eagerly."
              " UDP on loopback never blocks the sender: unthrottled runs overflow the receive queue, and"
              " the kernel's drop counter (`tally_udp_receive_drops_total`) accounts for every datagram"
              " not received. Memory is the registry's allocated capacity (exact) and the RSS growth"
              " while creating the series; the swift-prometheus figure is glibc heap growth (mallinfo2)."
              " The Unix row: where tallyd, not the sender, bounds the UDP run (UDP loses datagrams), both"
              " transports measure tallyd's receive loop, and the kernel charges a Unix datagram's receiver"
              " more than a UDP one's (it frees the sender's buffer, wakes the sender and takes the queue"
              " lock per datagram; UDP's receiver dequeues in bulk and hands the freeing back to the"
              " sender's CPU). `make bench-transport` shows it with tallyd taken out: the same receiver,"
              " doing the same work per datagram, gets fewer lines through a Unix socket than through UDP.\n")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    # The peers section is scripts/bench-peers.py's (make bench-peers): kept as it was measured.
    begin, end = "<!-- peers:begin", "<!-- peers:end -->"
    old = open(OUT).read() if os.path.exists(OUT) else ""
    if begin in old and end in old:
        md.append("\n" + old[old.index(begin):old.index(end) + len(end)] + "\n")
    with open(OUT, "w") as f:
        f.write("\n".join(md))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
