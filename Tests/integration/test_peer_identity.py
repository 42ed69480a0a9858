"""One shared Unix socket whose senders the kernel names: each datagram's SCM_CREDENTIALS uid
(or gid) picks its service. Real senders in forked processes that setuid to two unprivileged
ids, plus a spoofer and an unmapped id."""
import os
import socket

import pytest
from tallykit import Tallyd

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to setuid the senders to other uids")

ORDER = "orders_placed_total:{n}|c|#order_type:limit,symbol:BTC,side:buy{extra}"


def send_as(uid, gid, path, payload):
    """Forks a child that drops to uid/gid and sends one datagram; returns its exit code."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.sendto(payload.encode(), path)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_each_sender_lands_as_its_service_and_strangers_are_refused():
    spec = {"identity": "peer", "mode": "'0666'", "uids": "{1001: order_executor, 1002: risk_manager}",
            "gids": "{2005: alert_system}"}
    d = Tallyd(services=["order_executor", "risk_manager", "alert_system"], unix={"shared": spec})
    os.chmod(d.dir.name, 0o755)  # the senders must reach the socket in the test's directory
    with d:
        path = d.unix_path("shared")
        assert send_as(1001, 1001, path, ORDER.format(n=3, extra="")) == 0
        assert send_as(1002, 1002, path, ORDER.format(n=5, extra="")) == 0
        # Naming another service than the kernel says: service_mismatch.
        assert send_as(1001, 1001, path, ORDER.format(n=7, extra=",service:risk_manager")) == 0
        # An unmapped uid whose gid is mapped: the gid decides.
        assert send_as(1500, 2005, path, "alerts_triggered_total:1|c|#alert_type:price,priority:high") == 0
        # Neither mapped: every line of the datagram is unknown_sender.
        assert send_as(1003, 1003, path, ORDER.format(n=1, extra="") + "\n" + ORDER.format(n=2, extra="")) == 0
        d.wait_received(6, transport="unix")
        assert d.value("order_executor", "orders_placed_total", order_type="limit", symbol="BTC", side="buy") == 3
        assert d.value("risk_manager", "orders_placed_total", order_type="limit", symbol="BTC", side="buy") == 5
        assert d.value("alert_system", "alerts_triggered_total", alert_type="price", priority="high") == 1
        assert d.rejected("service_mismatch") == 1
        assert d.rejected("unknown_sender") == 2
        assert "uid 1003" in d.output()


def test_peer_identity_config_mistakes_are_refused(tmp_path):
    import subprocess

    from tallykit import TALLYD
    cases = [
        ("{path: /tmp/x.sock, identity: peer}", "needs uids or gids"),
        ("{path: /tmp/x.sock, identity: peer, service: order_executor, uids: {1: order_executor}}", "not both"),
        ("{path: /tmp/x.sock, identity: peer, uids: {alice: order_executor}}", "not a numeric uid"),
        ("{path: /tmp/x.sock, identity: peer, uids: {1001: nobody_here}}", "not one of the configured services"),
        ("{path: /tmp/x.sock, uids: {1001: order_executor}}", "need identity: peer"),
    ]
    for entry, problem in cases:
        config = tmp_path / "tallyd.yaml"
        config.write_text(f"ingest:\n  unix:\n    - {entry}\n")
        p = subprocess.run([TALLYD, "--check-config", str(config)], capture_output=True, text=True, timeout=30)
        assert p.returncode == 1 and problem in p.stderr, (entry, p.stderr)
