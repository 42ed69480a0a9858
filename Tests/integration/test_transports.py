"""Unix datagram and TCP ingest: real sockets, real clients, socket identity."""
import os
import socket
import subprocess

from datadog.dogstatsd import DogStatsd
from tallykit import TALLYD, Tallyd, http_get, wait_until

GOOD = "orders_filled_total:1|c|#service:order_executor,order_type:limit,symbol:BTCUSDT"
FILLED = dict(order_type="limit", symbol="BTCUSDT")


def test_unix_socket_from_unbound_senders():
    with Tallyd(unix={"ingest": None}) as d:
        d.send_unix("ingest", GOOD + "\n" + GOOD)
        subprocess.run(["socat", "-", f"UNIX-SENDTO:{d.unix_path('ingest')}"], input=GOOD.encode(), timeout=10, check=True)
        c = DogStatsd(socket_path=d.unix_path("ingest"), disable_telemetry=True)
        c.increment("orders_filled_total", tags=["service:order_executor", "order_type:limit", "symbol:BTCUSDT"])
        c.flush()
        d.wait_received(4, transport="unix")
        assert d.value("order_executor", "orders_filled_total", **FILLED) == 4
        assert oct(os.stat(d.unix_path("ingest")).st_mode & 0o777) == "0o660"


def test_unix_batches_of_datagrams_and_an_oversized_one():
    with Tallyd(unix={"ingest": None}) as d:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            s.sendto(b"order_executor.big:1|c|#pad:" + b"x" * 70_000, d.unix_path("ingest"))
            for _ in range(500):  # queued faster than one read each: recvmmsg takes them in batches
                s.sendto(GOOD.encode(), d.unix_path("ingest"))
        wait_until(lambda: d.value("order_executor", "orders_filled_total", **FILLED) == 500, what="500 datagrams")
        assert d.rejected("line_too_long") == 1
        assert "longer than 65536 bytes was cut" in d.output()
        assert d.admin_value("tally_packets_received_total", transport="unix") == 500


def test_a_datagram_of_exactly_64_kib_is_taken_whole():
    # The receive slots are 64 KiB each (spaced wider apart, see DatagramReceiveLoop): the
    # largest datagram that is not cut, blank lines padding it to the last byte.
    line = (GOOD + "\n").encode()
    count = 65536 // len(line)
    datagram = line * count + b"\n" * (65536 - count * len(line))
    assert len(datagram) == 65536
    with Tallyd(unix={"ingest": None}) as d:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            s.sendto(datagram, d.unix_path("ingest"))
            s.sendto(GOOD.encode(), d.unix_path("ingest"))
        wait_until(lambda: d.value("order_executor", "orders_filled_total", **FILLED) == count + 1,
                   what=f"{count + 1} lines")
        assert d.rejected("line_too_long") == 0


def test_socket_bound_to_a_service_gives_identity_and_refuses_others():
    with Tallyd(unix={"oe": "order_executor"}) as d:
        d.send_unix("oe", "orders_filled_total:1|c|#order_type:limit,symbol:BTCUSDT")  # no service named: the socket's
        d.send_unix("oe", "orders_filled_total:1|c|#service:risk_manager,order_type:limit,symbol:BTCUSDT")
        d.send_unix("oe", "risk_manager.db_connections_total:3|g")
        d.wait_received(3, transport="unix")
        assert d.value("order_executor", "orders_filled_total", **FILLED) == 1
        wait_until(lambda: d.rejected("service_mismatch") == 2, timeout=5)
        assert "orders_filled_total" not in d.scrape("risk_manager")


def test_stale_socket_is_replaced_and_a_non_socket_path_is_an_error(tmp_path):
    d = Tallyd(unix={"ingest": None})
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(d.unix_path("ingest"))
    stale.close()  # leaves the file behind, as a crashed daemon would
    with d:
        d.send_unix("ingest", GOOD)
        d.wait_received(1, transport="unix")
    assert not os.path.exists(d.unix_path("ingest")), "the socket file is removed on shutdown"

    d2 = Tallyd(unix={"ingest": None})
    with open(d2.unix_path("ingest"), "w") as f:
        f.write("precious")
    r = subprocess.run([TALLYD, "--config", d2.config_path], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "not a socket" in r.stderr
    with open(d2.unix_path("ingest")) as f:
        assert f.read() == "precious"
    d2.dir.cleanup()


def test_tcp_lines_across_writes_and_connections(tallyd):
    conns = [tallyd.tcp() for _ in range(5)]
    for c in conns:
        c.sendall(GOOD[:20].encode())
    for c in conns:
        c.sendall((GOOD[20:] + "\n" + GOOD + "\n").encode())
    for c in conns:
        c.close()
    tallyd.wait_received(10, transport="tcp")
    assert tallyd.value("order_executor", "orders_filled_total", **FILLED) == 10


def test_tcp_overlong_line_is_refused_and_the_connection_continues():
    with Tallyd(ingest_yaml="  max_line_length: 1024\n") as d:
        c = d.tcp()
        c.sendall(b"x" * 3000)
        c.sendall(b"y" * 3000 + b"\n" + (GOOD + "\n").encode())
        c.sendall(("A" * 2000 + "\n" + GOOD + "\n").encode())
        wait_until(lambda: d.value("order_executor", "orders_filled_total", **FILLED) == 2, timeout=5)
        assert d.rejected("line_too_long") == 2
        c.close()


def test_tcp_half_line_at_disconnect_is_counted(tallyd):
    c = tallyd.tcp()
    c.sendall((GOOD + "\n" + GOOD[:15]).encode())
    c.close()
    wait_until(lambda: tallyd.rejected("truncated_line") == 1, timeout=5)
    assert tallyd.value("order_executor", "orders_filled_total", **FILLED) == 1


def test_tcp_idle_connections_are_closed():
    with Tallyd(ingest_yaml="  tcp_idle_timeout: 500ms\n") as d:
        c = d.tcp()
        c.settimeout(5)
        assert c.recv(1) == b"", "the daemon closes an idle connection"
        c.close()


def test_a_second_tallyd_cannot_share_the_udp_port():
    with Tallyd() as first:
        second = Tallyd()
        with open(second.config_path) as f:
            text = f.read()
        with open(second.config_path, "w") as f:
            f.write(text.replace(f'"127.0.0.1:{second.udp_port}"', f'"127.0.0.1:{first.udp_port}"', 1))
        second.launch()
        try:
            assert second.proc.wait(timeout=15) == 1
            second.log.close()
            out = second.output()
            assert f"UDP ingest on 127.0.0.1:{first.udp_port}" in out and "address already in use" in out, out
        finally:
            second.dir.cleanup()
        # The first one still gets every datagram.
        for _ in range(20):
            first.send("queue_depth:3|g|#service:order_executor")
        first.wait_received(20)


def test_kernel_drops_are_counted_when_the_receive_queue_overflows():
    ingest = "  udp_loops: 1\n  udp_receive_buffer: 4KiB\n"
    d = Tallyd(ingest_yaml=ingest, env={"TALLYD_DEBUG_HOOKS": "1"}).start()
    try:
        assert d.admin_value("tally_udp_receive_drops_total", port=str(d.udp_port)) == 0
        status, _, _ = http_get(d.admin_port, "/debug/wedge-ingest-loops")
        assert status == 200
        line = ("queue_depth:3|g|#service:order_executor," + "x" * 900).encode()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(500):
                s.sendto(line, ("127.0.0.1", d.udp_port))
        wait_until(lambda: d.admin_value("tally_udp_receive_drops_total", port=str(d.udp_port)) > 0,
                   what="kernel drops to show in tally_udp_receive_drops_total")
    finally:
        d.proc.kill()  # the wedged loops never return
        d.proc.wait(timeout=5)
        d.log.close()
        d.dir.cleanup()


def test_unix_socket_paths_that_do_not_fit_are_named(tmp_path):
    long_path = str(tmp_path / ("s" * 120)) + ".sock"  # sockaddr_un holds 107 bytes
    cfg = tmp_path / "tallyd.yaml"
    cfg.write_text(f"ingest:\n  unix: [{{path: {long_path}}}]\nadmin: null\n"
                   "services:\n  risk_manager: {port: 0}\n")
    r = subprocess.run([TALLYD, "--config", str(cfg)], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "ingest.unix[0].path: must be an absolute path shorter than 108 bytes" in r.stderr
    env = {**os.environ, "TALLY_ADDR": f"unix:{long_path}"}
    tally = os.path.join(os.path.dirname(TALLYD), "tally")
    p = subprocess.run([tally, "send", "risk_manager.x:1|c"], capture_output=True, text=True, timeout=20, env=env)
    assert p.returncode != 0 and f"unix socket path is too long: {long_path}" in p.stderr


def assert_unix_queue_advice(out):
    """The advice (value, sysctl, restart) where this host's limit is below 512; none otherwise."""
    with open("/proc/sys/net/unix/max_dgram_qlen") as f:
        qlen = int(f.read())
    if qlen < 512:
        assert f"net.unix.max_dgram_qlen is {qlen}:" in out, out
        assert "sysctl -w net.unix.max_dgram_qlen=512, then restart tallyd" in out, out
    else:
        assert "max_dgram_qlen" not in out, out


def test_a_small_unix_queue_limit_is_warned_about_at_startup_with_the_fix():
    """tallyd names net.unix.max_dgram_qlen and the sysctl to run when a Unix socket is configured
    and the kernel's limit is below systemd's 512; with no Unix socket it says nothing of it."""
    with Tallyd(unix={"ingest": None}) as d:
        assert_unix_queue_advice(d.output())
    with Tallyd() as d:
        assert "max_dgram_qlen" not in d.output()


def test_a_reload_that_adds_the_first_unix_socket_gives_the_same_warning():
    """The queue limit is taken when a socket is made: a Unix socket a reload adds gets the
    startup's advice too (and a socket that can be sent to)."""
    from test_operations import post
    with Tallyd() as d:
        assert "max_dgram_qlen" not in d.output()
        d.unix = {"ingest": None}
        d._write_config()
        status, body = post(d.admin_port, "/-/reload")
        assert status == 200, body
        d.send_unix("ingest", "risk_manager.reloaded_unix:1|c")
        wait_until(lambda: d.value("risk_manager", "reloaded_unix_total") == 1, what="the line over the new socket")
        assert_unix_queue_advice(d.output())


def test_a_receive_buffer_the_kernel_caps_is_warned_about_once_per_boot(tmp_path):
    """Every start on a host whose net.core.rmem_max is below the asked buffer warned; now the
    first start since boot warns and later ones note it at info level."""
    with open("/proc/sys/net/core/rmem_max") as f:
        rmem_max = int(f.read())
    asked = rmem_max * 2
    env = {"RUNTIME_DIRECTORY": str(tmp_path)}
    levels = []
    for _ in range(2):
        with Tallyd(services=["risk_manager"], ingest_yaml=f"  udp_receive_buffer: {asked}\n", env=env) as d:
            wait_until(lambda: "receive buffer of UDP" in d.output(), what="the receive buffer line")
            line = next(x for x in d.output().splitlines() if "receive buffer of UDP" in x)
            levels.append("warning" if " warning " in line else "info" if " info " in line else line)
            assert "net.core.rmem_max" in line
    assert levels == ["warning", "info"], levels
