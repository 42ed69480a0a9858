"""tallyd under systemd's protocols, with real peers: a notify socket the test owns (as
systemd's would be), real signals, and socket activation through Debian's
systemd-socket-activate or descriptors passed by hand the way systemd passes them."""
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time

import pytest
from tallykit import Tallyd, free_port, http_get, wait_until


class NotifySocket:
    """A Unix datagram socket standing in for systemd's NOTIFY_SOCKET; records every
    message with its arrival time."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="tally-notify-")
        self.path = os.path.join(self.dir.name, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages = []  # (monotonic time, {key: value})
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self.lock:
                self.messages.append((time.monotonic(), fields))

    def all(self):
        with self.lock:
            return list(self.messages)

    def with_key(self, key, value=None, since=0.0):
        return [(t, m) for t, m in self.all() if t >= since and key in m and (value is None or m[key] == value)]

    def wait(self, key, value=None, since=0.0, timeout=15.0):
        return wait_until(lambda: self.with_key(key, value, since), timeout=timeout,
                          what=f"{key}={value or '*'} on the notify socket (got {self.all()})")[0]

    def close(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()
        self.dir.cleanup()


@pytest.fixture
def notify():
    n = NotifySocket()
    yield n
    n.close()


def admin_value(d, name, **labels):
    from prometheus_client.parser import text_string_to_metric_families
    _, _, text = http_get(d.admin_port)
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


def test_ready_only_after_every_port_answers_then_status_then_stopping(notify):
    d = Tallyd(env={"NOTIFY_SOCKET": notify.path, "TALLYD_STATUS_INTERVAL": "0.5"})
    d.launch()
    try:
        _, ready = notify.wait("READY", "1")
        # READY means bound: every endpoint and the TCP ingest port answer at once.
        for port in [*d.services.values(), d.admin_port]:
            assert http_get(port, timeout=2)[0] == 200
        socket.create_connection(("127.0.0.1", d.tcp_port), timeout=2).close()
        assert "series" in ready.get("STATUS", ""), ready
        d.send("orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:X,side:buy")
        t0 = time.monotonic()
        _, status = notify.wait("STATUS", since=t0, timeout=10)
        assert re.match(r"^\d+ lines/s, \d+ series, \d+ rejects/s$", status["STATUS"]), status
        assert not notify.with_key("WATCHDOG"), "no WATCHDOG_USEC, so no pings"
    finally:
        code = d.stop()
        out = d.output()
        d.dir.cleanup()
    assert code == 0
    notify.wait("STOPPING", "1")
    assert "tallyd stopped" in out


def test_watchdog_pings_at_half_the_interval_and_stop_when_a_loop_wedges(notify):
    interval = 1.0
    d = Tallyd(env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": str(int(interval * 1e6)),
                    "TALLYD_DEBUG_HOOKS": "1"})
    d.launch()
    try:
        _, _ = notify.wait("READY", "1")
        t0 = time.monotonic()
        time.sleep(3.2)
        pings = [t for t, _ in notify.with_key("WATCHDOG", "1", since=t0)]
        assert 4 <= len(pings) <= 9, f"expected a ping about every {interval / 2}s, got {len(pings)} in 3.2s"
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        assert max(gaps) < interval, f"a gap of {max(gaps):.2f}s would let systemd kill a healthy daemon"

        status, _, body = http_get(d.admin_port, "/debug/wedge-ingest-loop")
        assert status == 200, body
        wedged_at = time.monotonic()
        _, msg = notify.wait("STATUS", since=wedged_at, timeout=5)
        wait_until(lambda: notify.with_key("STATUS", since=wedged_at)[-1][1]["STATUS"].startswith("wedged"),
                   timeout=5, what="a STATUS naming the wedge")
        time.sleep(2 * interval)
        # Pings may continue until the wedged loop's last heartbeat is a full interval old.
        late = [t for t, _ in notify.with_key("WATCHDOG", "1", since=wedged_at + interval + interval / 2 + 0.3)]
        assert late == [], f"watchdog kept pinging {len(late)} times after an ingest loop wedged"
        assert "ingest loop" in notify.with_key("STATUS", since=wedged_at)[-1][1]["STATUS"]
        assert "watchdog: not pinging systemd" in d.output()
    finally:
        d.proc.kill()  # the wedged loop never returns; systemd would SIGABRT/SIGKILL it too
        d.proc.wait(timeout=5)
        d.log.close()
        d.dir.cleanup()


def test_sighup_reloads_applies_live_settings_and_keeps_the_old_config_when_invalid(notify):
    d = Tallyd(env={"NOTIFY_SOCKET": notify.path})
    d.launch()
    try:
        notify.wait("READY", "1")
        unknown = "brand_new_thing:1|c|#service:order_executor"
        with open(d.config_path) as f:
            original = f.read()

        # 1. a valid change: unknown_families accept -> reject applies at once
        with open(d.config_path, "w") as f:
            f.write(original + "unknown_families: reject\nlog_level: debug\n")
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGHUP)
        _, reloading = notify.wait("RELOADING", "1", since=t0)
        assert re.fullmatch(r"\d+", reloading.get("MONOTONIC_USEC", "")), reloading
        mono = int(reloading["MONOTONIC_USEC"]) / 1e6
        assert abs(mono - time.clock_gettime(time.CLOCK_MONOTONIC)) < 10
        t_ready, ready = notify.wait("READY", "1", since=t0)
        assert "applied" in ready["STATUS"] and "unknown_families=reject" in ready["STATUS"], ready
        assert "log_level=debug" in ready["STATUS"]
        before = d.rejected("unknown_family")
        d.send(unknown)
        wait_until(lambda: d.rejected("unknown_family") == before + 1,
                   what="the reloaded policy to reject an unknown family")

        # 2. a renamed service applies live: the new name takes over the old one's endpoint
        with open(d.config_path, "w") as f:
            f.write(original.replace("order_executor: {port", "order_executor2: {port") + "unknown_families: reject\n")
        t1 = time.monotonic()
        d.proc.send_signal(signal.SIGHUP)
        notify.wait("RELOADING", "1", since=t1)
        _, ready = notify.wait("READY", "1", since=t1)
        assert "added service order_executor2" in ready["STATUS"], ready
        assert "moved endpoint order_executor->order_executor2" in ready["STATUS"], ready
        assert 'service_up{service_name="order_executor2"}' in http_get(d.services["order_executor"])[2]
        # back, for the next step
        with open(d.config_path, "w") as f:
            f.write(original + "unknown_families: reject\n")
        t1b = time.monotonic()
        d.proc.send_signal(signal.SIGHUP)
        _, ready = notify.wait("READY", "1", since=t1b)
        assert "added service order_executor" in ready["STATUS"], ready

        # 3. an invalid file keeps the running config and says why
        with open(d.config_path, "w") as f:
            f.write(original + "unknown_families: maybe\n")
        t2 = time.monotonic()
        d.proc.send_signal(signal.SIGHUP)
        _, ready = notify.wait("READY", "1", since=t2)
        assert ready["STATUS"].startswith("reload failed, keeping the running config"), ready
        assert "unknown_families" in ready["STATUS"]
        assert http_get(d.services["order_executor"])[0] == 200
        d.send(unknown)
        wait_until(lambda: d.rejected("unknown_family") == before + 2,
                   what="the old (reject) policy to still hold")
    finally:
        code = d.stop()
        d.dir.cleanup()
    assert code == 0


def test_a_port_in_use_says_so_in_status_and_never_sends_ready(notify):
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    d = Tallyd(env={"NOTIFY_SOCKET": notify.path})
    d.services["risk_manager"] = port
    with open(d.config_path) as f:
        text = f.read()
    with open(d.config_path, "w") as f:
        f.write(re.sub(r"risk_manager: \{port: \d+\}", f"risk_manager: {{port: {port}}}", text))
    try:
        d.launch()
        assert d.proc.wait(timeout=15) == 1
        _, status = notify.wait("STATUS")
        assert "risk_manager" in status["STATUS"] and "address already in use" in status["STATUS"], status
        assert not notify.with_key("READY")
    finally:
        blocker.close()
        d.log.close()
        d.dir.cleanup()


@pytest.mark.skipif(shutil.which("systemd-socket-activate") is None,
                    reason="systemd-socket-activate (Debian package systemd) is not installed")
def test_systemd_socket_activate_datagrams_sent_before_start_are_counted(notify):
    d = Tallyd(env={"NOTIFY_SOCKET": notify.path})
    unix_path = os.path.join(d.dir.name, "activated.sock")
    udp_port = free_port(socket.SOCK_DGRAM)
    d.prefix = ["systemd-socket-activate", "--datagram", f"--listen=127.0.0.1:{udp_port}", f"--listen={unix_path}",
                "--fdname=ingest-udp:ingest-unix", "-E", "NOTIFY_SOCKET"]
    d.launch()
    try:
        wait_until(lambda: os.path.exists(unix_path), timeout=10, what="systemd-socket-activate to listen")
        line = "redis_operations_total:1|c|#service:api_gateway,operation:get,status:ok"
        first_send = time.monotonic()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            for _ in range(5):
                s.sendto(line.encode(), unix_path)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(7):
                s.sendto(line.encode(), ("127.0.0.1", udp_port))
        t_ready, _ = notify.wait("READY", "1")
        # systemd-socket-activate execs tallyd only on the first datagram.
        assert t_ready > first_send
        wait_until(lambda: d.value("api_gateway", "redis_operations_total", operation="get", status="ok") == 12,
                   what="all 12 datagrams queued before tallyd ran to be counted")
        # The config's own UDP port was still bound: adopted sockets add to, not replace, other ports.
        d.send(line)
        wait_until(lambda: d.value("api_gateway", "redis_operations_total", operation="get", status="ok") == 13)
        out = d.output()
        assert "socket_activation" in out and "ingest-unix" in out, out
    finally:
        code = d.stop()
        d.dir.cleanup()
    assert code == 0


def held_sockets():
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    http = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    http.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    http.bind(("127.0.0.1", 0))
    http.listen(64)
    return udp, http


# Execs argv[3:] the way systemd starts a socket-activated service: the descriptors listed in
# argv[2] moved to 3, 4, ..., LISTEN_FDS/LISTEN_FDNAMES set and LISTEN_PID its own pid.
EXEC_WITH_FDS = """
import fcntl, os, sys
names, fds, argv = sys.argv[1], [int(x) for x in sys.argv[2].split(",")], sys.argv[3:]
dups = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in fds]  # out of the way of 3, 4, ...
for i, fd in enumerate(dups):
    os.dup2(fd, 3 + i, inheritable=True)
os.environ.update(LISTEN_FDS=str(len(fds)), LISTEN_FDNAMES=names, LISTEN_PID=str(os.getpid()))
os.execvp(argv[0], argv)
"""


def activated(d, socks_and_names):
    """Runs tallyd with these sockets passed as systemd passes them."""
    names = ":".join(n for _, n in socks_and_names)
    fds = ",".join(str(s.fileno()) for s, _ in socks_and_names)
    d.prefix = [sys.executable, "-c", EXEC_WITH_FDS, names, fds]
    d.pass_fds = tuple(s.fileno() for s, _ in socks_and_names)
    return d


def lines_received(log_text):
    m = re.findall(r"\blines=(\d+).*tallyd stopped", log_text)
    return int(m[-1]) if m else None


def test_restart_under_held_sockets_loses_no_datagram_and_keeps_the_http_port():
    udp, http = held_sockets()
    http_port = http.getsockname()[1]
    line = b"risk_checks_total:1|c|#service:strategy_service,check_type:limit,result:pass"
    total = 0
    try:
        first = activated(Tallyd(), [(udp, "ingest-udp"), (http, "strategy_service")])
        first.services["strategy_service"] = http_port
        first.start()
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        target = udp.getsockname()
        for _ in range(300):
            sender.sendto(line, target)
        total += 300
        wait_until(lambda: first.value("strategy_service", "risk_checks_total", check_type="limit", result="pass") == 300)
        # Keep sending while it stops: whatever the first one does not read stays queued.
        first.proc.send_signal(signal.SIGTERM)
        for _ in range(200):
            sender.sendto(line, target)
        total += 200
        assert first.proc.wait(timeout=15) == 0
        first.log.close()
        first_lines = lines_received(first.output())
        assert first_lines is not None and first_lines >= 300, first.output()
        for _ in range(100):  # nobody is running now
            sender.sendto(line, target)
        total += 100

        second = activated(Tallyd(), [(udp, "ingest-udp"), (http, "strategy_service")])
        second.services["strategy_service"] = http_port
        second.start()
        try:
            expected = total - first_lines
            wait_until(lambda: second.value("strategy_service", "risk_checks_total", check_type="limit", result="pass") == expected,
                       what=f"the {expected} datagrams the first tallyd did not read")
        finally:
            assert second.stop() == 0
            second.dir.cleanup()
        first.dir.cleanup()
    finally:
        udp.close()
        http.close()


def test_a_passed_socket_of_the_wrong_kind_is_refused_by_name():
    udp, http = held_sockets()
    try:
        d = activated(Tallyd(), [(udp, "strategy_service")])
        d.launch()
        assert d.proc.wait(timeout=15) == 1
        d.log.close()
        out = d.output()
        assert "named 'strategy_service' is an IPv4 datagram socket" in out and "listening TCP socket" in out, out
        d.dir.cleanup()

        d = activated(Tallyd(), [(http, "tally.socket")])
        d.launch()
        assert d.proc.wait(timeout=15) == 1
        d.log.close()
        assert "named 'tally.socket'" in d.output() and "FileDescriptorName=" in d.output()
        d.dir.cleanup()
    finally:
        udp.close()
        http.close()


def test_descriptors_named_tally_are_sorted_by_kind_and_port():
    """tally.socket names all its descriptors `tally`; tallyd matches them to the config."""
    d = Tallyd()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", d.udp_port))
    http = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    http.bind(("127.0.0.1", d.services["risk_manager"]))
    http.listen(16)
    try:
        activated(d, [(udp, "tally"), (http, "tally")]).start()
        d.send("risk_checks_total:2|c|#service:risk_manager,check_type:var,result:fail")
        wait_until(lambda: d.value("risk_manager", "risk_checks_total", check_type="var", result="fail") == 2)
        assert "address already in use" not in d.output()
        assert d.stop() == 0
    finally:
        d.dir.cleanup()
        udp.close()
        http.close()


def test_sighup_applies_new_cardinality_limits_at_once(notify):
    d = Tallyd(extra_yaml="limits:\n  max_series_per_family: 2\n", env={"NOTIFY_SOCKET": notify.path})
    d.launch()
    try:
        notify.wait("READY", "1")
        line = "position_pnl_usd:1|g|#service:risk_manager,position_id:P{},symbol:BTC"
        for i in range(3):
            d.send(line.format(i))
        wait_until(lambda: d.rejected("cardinality_limit") == 1)
        with open(d.config_path) as f:
            text = f.read()
        with open(d.config_path, "w") as f:
            f.write(text.replace("max_series_per_family: 2", "max_series_per_family: 5"))
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGHUP)
        _, ready = notify.wait("READY", "1", since=t0)
        assert "applied" in ready["STATUS"] and "limits" in ready["STATUS"] and "restart" not in ready["STATUS"], ready
        for i in range(3, 6):
            d.send(line.format(i))
        wait_until(lambda: d.value("risk_manager", "position_pnl_usd", position_id="P5", symbol="BTC") == 1,
                   what="a series the old limit would have refused")
        assert d.rejected("cardinality_limit") == 1
    finally:
        code = d.stop()
        d.dir.cleanup()
    assert code == 0


CATALOGUE_V1 = """categories:
  - name: trading
    title: Trading
    families:
      - name: orders_placed_total
        type: counter
        help: Orders placed.
        labels: [order_type]
      - name: position_pnl_usd
        type: gauge
        help: PnL.
        labels: [position_id, symbol]
"""


def test_sighup_swaps_the_catalogue_atomically_keeping_unchanged_families(notify, tmp_path):
    catalogue = tmp_path / "families.yaml"
    catalogue.write_text(CATALOGUE_V1)
    d = Tallyd(env={"NOTIFY_SOCKET": notify.path}, extra_yaml=f"catalogue: {catalogue}\n")
    d.launch()
    try:
        notify.wait("READY", "1")
        d.send("orders_placed_total:3|c|#service:order_executor,order_type:limit\n"
               "position_pnl_usd:5|g|#service:order_executor,position_id:P1,symbol:X")
        wait_until(lambda: d.value("order_executor", "position_pnl_usd", position_id="P1", symbol="X") == 5,
                   what="both families folded")
        assert d.rejected("unknown_family") == 0

        # v2: orders_placed_total unchanged (new help), position_pnl_usd drops position_id,
        # a new family appears; with unknown_families: reject the new family only exists after the swap.
        with open(d.config_path) as f:
            config = f.read()
        with open(d.config_path, "w") as f:
            f.write(config + "unknown_families: reject\nlimits:\n  families:\n    position_pnl_usd: {drop_labels: [position_id]}\n")
        catalogue.write_text(CATALOGUE_V1.replace("Orders placed.", "Orders placed (v2).")
                             + "      - name: fills_total\n        type: counter\n        help: Fills.\n        labels: [side]\n")
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGHUP)
        _, ready = notify.wait("READY", "1", since=t0)
        assert "catalogue (3 families, 1 series of changed families removed)" in ready["STATUS"], ready
        text = d.scrape("order_executor")
        assert "# HELP orders_placed_total Orders placed (v2)." in text
        assert 'orders_placed_total{order_type="limit"} 3' in text
        assert "position_pnl_usd" not in text
        d.send("fills_total:2|c|#service:order_executor,side:buy\n"
               "position_pnl_usd:+1|g|#service:order_executor,position_id:P1,symbol:X\n"
               "position_pnl_usd:+1|g|#service:order_executor,position_id:P2,symbol:X\n"
               "orders_placed_total:1|c|#service:order_executor,order_type:limit")
        wait_until(lambda: d.value("order_executor", "orders_placed_total", order_type="limit") == 4,
                   what="the unchanged family to keep counting")
        assert d.value("order_executor", "fills_total", side="buy") == 2
        assert d.value("order_executor", "position_pnl_usd", symbol="X") == 2
        assert d.rejected("unknown_family") == 0

        # A catalogue that does not fit the config keeps the running one.
        catalogue.write_text(CATALOGUE_V1.replace("labels: [position_id, symbol]", "labels: [symbol]"))
        t1 = time.monotonic()
        d.proc.send_signal(signal.SIGHUP)
        _, ready = notify.wait("READY", "1", since=t1)
        assert ready["STATUS"].startswith("reload failed, keeping the running config"), ready
        assert "'position_id' is not a label of position_pnl_usd" in ready["STATUS"]
        assert d.value("order_executor", "fills_total", side="buy") == 2
    finally:
        code = d.stop()
        d.dir.cleanup()
    assert code == 0
