"""The `tally` sender: TALLY_ADDR picks UDP, Unix or TCP; `tally load` reports from tallyd's counters."""
import os
import re
import subprocess

import pytest
from tallykit import TALLY, Tallyd, free_port, wait_until

LINE = "orders_placed_total:{n}|c|#service:order_executor,order_type:limit,symbol:{sym},side:buy"


def tally(*args, addr=None, stdin=None, timeout=60):
    env = {**os.environ}
    env.pop("TALLY_ADDR", None)
    if addr is not None:
        env["TALLY_ADDR"] = addr
    return subprocess.run([TALLY, *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=env)


def test_send_over_each_transport_from_args_and_stdin():
    with Tallyd(unix={"ingest": None}) as d:
        targets = {
            "UDP": f"127.0.0.1:{d.udp_port}",
            "UNIX": f"unix:{d.unix_path('ingest')}",
            "TCP": f"tcp:127.0.0.1:{d.tcp_port}",
        }
        for sym, addr in targets.items():
            p = tally("send", LINE.format(n=2, sym=sym), addr=addr)
            assert p.returncode == 0, p.stderr
            p = tally("send", addr=addr, stdin=LINE.format(n=3, sym=sym) + "\n\n" + LINE.format(n=4, sym=sym) + "\n")
            assert p.returncode == 0, p.stderr
        for sym in targets:
            wait_until(lambda: d.value("order_executor", "orders_placed_total", order_type="limit", symbol=sym, side="buy") == 9,
                       what=f"the {sym} lines")


def test_tally_addr_errors_are_clear():
    p = tally("send", "x:1|c", addr="tcp:nohostport")
    assert p.returncode != 0 and "TALLY_ADDR=tcp:nohostport" in p.stderr, p.stderr
    p = tally("send", "x:1|c", addr="unix:/nonexistent/dir/sock")
    assert p.returncode != 0 and "unix:/nonexistent/dir/sock" in p.stderr, p.stderr


def test_default_target_is_udp_127_0_0_1_8125():
    p = tally("--help")
    assert p.returncode == 0 and "TALLY_ADDR" in p.stdout and "127.0.0.1:8125" in p.stdout


@pytest.mark.parametrize("transport", ["udp", "tcp", "unix"])
def test_load_reports_what_tallyd_received(transport):
    with Tallyd(unix={"ingest": None}) as d:
        target = {"udp": ["--udp", f"127.0.0.1:{d.udp_port}"], "tcp": ["--tcp", f"127.0.0.1:{d.tcp_port}"],
                  "unix": ["--unix", d.unix_path("ingest")]}[transport]
        p = tally("load", *target, "--rate", "20000", "--duration", "500ms", "--series", "100",
                  "--lines-per-packet", "10", "--admin", f"127.0.0.1:{d.admin_port}")
        assert p.returncode == 0, p.stderr
        m = re.search(r"^RESULT (.*)$", p.stdout, re.M)
        assert m, p.stdout
        r = dict(kv.split("=") for kv in m.group(1).split())
        sent, received = int(r["sent_lines"]), int(r["received"])
        assert 5000 <= sent <= 12000, p.stdout  # about 20000 lines/s for half a second
        assert received == sent and int(r["accepted"]) == sent and int(r["drops"]) == 0, p.stdout
        assert float(r["cpu_per_million"]) > 0
        total = sum(d.value("order_executor", "orders_placed_total", order_type="limit", symbol=f"SYM{i}", side="buy") or 0
                    for i in range(100))
        assert total == sent


def test_load_to_a_port_nobody_listens_on_says_so_and_does_not_crash():
    # 100 series of 10 lines are 10 packets, fewer than a batch of 64 datagrams: a refused
    # batch used to rewind the packet index below zero and crash the load generator.
    port = free_port()
    p = tally("load", "--udp", f"127.0.0.1:{port}", "--duration", "300ms", "--series", "100",
              "--lines-per-packet", "10", "--admin", "none", timeout=30)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "refused" in p.stderr and f"127.0.0.1:{port}" in p.stderr, p.stderr
    assert re.search(r"^RESULT sent_lines=\d+ ", p.stdout, re.M), p.stdout


def test_load_stops_at_its_duration_and_keeps_its_rate():
    """At 1000 lines/s a batch of 64 packets of 20 lines is 1.28 s: 300ms ran 1.28 s."""
    with Tallyd(services=["order_executor"]) as d:
        for duration, seconds in [("300ms", 0.3), ("2s", 2.0)]:
            p = tally("load", "--udp", f"127.0.0.1:{d.udp_port}", "--rate", "1000", "--series", "10",
                      "--duration", duration, "--admin", "none", timeout=30)
            assert p.returncode == 0, p.stderr
            r = dict(kv.split("=") for kv in re.search(r"^RESULT (.*)$", p.stdout, re.M).group(1).split())
            assert seconds <= float(r["seconds"]) < seconds + 0.15, p.stdout
            assert abs(int(r["sent_lines"]) - 1000 * seconds) <= 40, p.stdout


def test_load_covers_every_series_it_is_asked_for_or_refuses():
    """400,000 series of 20 lines are 20,000 packets: the old cap of 16,384 made 327,680."""
    port = free_port()
    p = tally("load", "--udp", f"127.0.0.1:{port}", "--series", "400000", "--duration", "100ms",
              "--admin", "none", timeout=60)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "400000 series" in p.stdout, p.stdout
    p = tally("load", "--udp", f"127.0.0.1:{port}", "--series", "100000000", "--duration", "100ms",
              "--admin", "none", timeout=60)
    assert p.returncode == 64 and "--series 100000000 needs about" in p.stderr, p.stderr
