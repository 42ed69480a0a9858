"""Hostile traffic: 100,000 garbage datagrams/lines over UDP, a Unix socket and TCP,
interleaved with valid lines from the real datadog and statsd clients. The daemon must stay
up, count every valid line exactly, keep every endpoint valid for promtool, and keep its
memory bounded."""
import random
import socket

import statsd
from datadog.dogstatsd import DogStatsd
from tallykit import Tallyd, assert_parseable_exposition, wait_until

UDP_GARBAGE, UNIX_GARBAGE, TCP_GARBAGE = 50_000, 30_000, 20_000
VALID_EVERY = 50  # one valid line from a client per 50 garbage ones
TEMPLATES = [b"api_gateway.x:1|c|#a:b", b"http_requests_total:1|c|#service:api_gateway,method:GET",
             b"x,k=v:1|g", b"y[k=v]:2|ms|@0.5", b"_e{3,2}:abc|de", b"z:1:2:3|h|#t"]


def garbage(rng):
    """Random bytes, or a valid-looking line with a few bytes corrupted (reaches deeper)."""
    if rng.random() < 0.5:
        return rng.randbytes(rng.randint(0, 300))
    line = bytearray(rng.choice(TEMPLATES))
    for _ in range(rng.randint(1, 4)):
        line[rng.randrange(len(line))] = rng.randrange(256)
    return bytes(line)


def packets(d, transport):
    return d.admin_value("tally_packets_received_total", transport=transport)


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/pid/status")


def test_garbage_flood_over_every_transport_leaves_valid_lines_exact_and_exposition_clean():
    rng = random.Random(20261126)
    with Tallyd(unix={"ingest": None}) as d:
        rss_before = peak_rss_kib(d.proc.pid)
        dd_udp = DogStatsd(host="127.0.0.1", port=d.udp_port, disable_telemetry=True)
        plain_udp = statsd.StatsClient("127.0.0.1", d.udp_port, prefix="api_gateway")
        # socket_timeout=None: a blocking socket (the client's default drops when the queue is full).
        dd_unix = DogStatsd(socket_path=d.unix_path("ingest"), disable_telemetry=True, socket_timeout=None)
        plain_tcp = statsd.TCPStatsClient("127.0.0.1", d.tcp_port, prefix="api_gateway", timeout=5)
        sent = {"flood_udp_dd_total": 0, "flood_udp_plain_total": 0, "flood_unix_dd_total": 0, "flood_tcp_plain_total": 0}

        # UDP: paced in chunks so the kernel never drops (exactness is about tallyd, not the buffer).
        raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        chunk = 2_000
        for start in range(0, UDP_GARBAGE, chunk):
            before = packets(d, "udp")
            for i in range(chunk):
                raw.sendto(garbage(rng), ("127.0.0.1", d.udp_port))
                if i % VALID_EVERY == 0:
                    dd_udp.increment("flood_udp_dd", tags=["service:api_gateway", "kind:dd"])
                    plain_udp.incr("flood_udp_plain")
                    sent["flood_udp_dd_total"] += 1
                    sent["flood_udp_plain_total"] += 1
            dd_udp.flush()
            # Zero-length datagrams are packets too; statsd/datadog packets add to the count.
            wait_until(lambda: packets(d, "udp") >= before + chunk, timeout=20, what="a UDP chunk to be read")
        raw.close()

        # Unix datagrams: the socket blocks the sender instead of dropping.
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        for i in range(UNIX_GARBAGE):
            unix.sendto(garbage(rng) or b"\n", d.unix_path("ingest"))
            if i % VALID_EVERY == 0:
                dd_unix.increment("flood_unix_dd", tags=["service:api_gateway"])
                sent["flood_unix_dd_total"] += 1
        dd_unix.flush()
        unix.close()

        # TCP: garbage lines on one connection (newlines inside garbage just split it further).
        with socket.create_connection(("127.0.0.1", d.tcp_port), timeout=5) as tcp:
            for i in range(TCP_GARBAGE):
                tcp.sendall(garbage(rng).replace(b"\n", b" ") + b"\n")
                if i % VALID_EVERY == 0:
                    plain_tcp.incr("flood_tcp_plain")
                    sent["flood_tcp_plain_total"] += 1
        plain_tcp.close()

        def exact():
            samples = d.samples("api_gateway")
            got = {name: samples.get((name, frozenset({"kind": "dd"}.items()) if name == "flood_udp_dd_total" else frozenset()))
                   for name in sent}
            return got == sent or None
        try:
            wait_until(exact, timeout=30, what="every valid line counted")
        except AssertionError:
            samples = d.samples("api_gateway")
            raise AssertionError(f"sent {sent}, exposed { {k: v for k, v in samples.items() if k[0] in sent} }")

        assert d.proc.poll() is None, "tallyd died"
        drops = sum(v for (name, _), v in d.samples(None).items() if name == "tally_udp_receive_drops_total")
        assert drops == 0
        for service in d.services:
            assert_parseable_exposition(d.scrape(service))
        assert_parseable_exposition(d.admin())
        rejected = sum(v for (name, _), v in d.samples(None).items() if name == "tally_lines_rejected_total")
        assert rejected > 50_000, f"only {rejected} lines refused: was the garbage sent?"
        growth_mib = (peak_rss_kib(d.proc.pid) - rss_before) / 1024
        assert growth_mib < 150, f"peak RSS grew by {growth_mib:.0f} MiB during the flood"
        print(f"flood: {sent}, {rejected:.0f} refused, peak RSS +{growth_mib:.1f} MiB")
