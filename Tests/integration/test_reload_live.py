"""Reload applies everything: services added, removed and moved, listeners added and removed,
ingest settings, all live, through POST /-/reload and SIGHUP; a bind failure changes nothing."""
import signal
import socket
import time

from tallykit import Tallyd, free_port, http_get, wait_until
from test_operations import post

ORDER = "orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:{s},side:buy"


def rewrite(d, **changes):
    """The test kit's config with `services` / `ingest` changed and extra YAML appended."""
    d.services = changes.get("services", d.services)
    if "tcp" in changes:
        d.tcp_ports = changes["tcp"]
    d._write_config()
    text = open(d.config_path).read()
    if "tcp" in changes:
        text = text.replace(f'  tcp: ["127.0.0.1:{d.tcp_port}"]',
                            "  tcp: [" + ", ".join(f'"127.0.0.1:{p}"' for p in changes["tcp"]) + "]")
    with open(d.config_path, "w") as f:
        f.write(text + changes.get("extra", ""))


def counter(d, service="order_executor", sym="KEEP"):
    return d.value(service, "orders_placed_total", order_type="limit", symbol=sym, side="buy")


def test_services_added_removed_and_moved_live_and_untouched_series_survive():
    with Tallyd(services=["order_executor", "risk_manager"]) as d:
        for _ in range(3):
            d.send(ORDER.format(s="KEEP"))
        wait_until(lambda: counter(d) == 3)
        old_risk_port = d.services["risk_manager"]
        # Add a service, move risk_manager to another port, over HTTP.
        new_services = {"order_executor": d.services["order_executor"], "risk_manager": free_port(),
                        "alert_system": free_port()}
        rewrite(d, services=new_services)
        status, body = post(d.admin_port, "/-/reload")
        assert status == 200 and "added service alert_system" in body, body
        assert http_get(new_services["alert_system"])[0] == 200
        assert 'service_up{service_name="alert_system"} 0' in http_get(new_services["alert_system"])[2]
        d.send("alerts_triggered_total:1|c|#service:alert_system,alert_type:price,priority:high")
        wait_until(lambda: d.value("alert_system", "alerts_triggered_total", alert_type="price", priority="high") == 1,
                   what="the new service's line")
        assert http_get(new_services["risk_manager"])[0] == 200
        try:
            http_get(old_risk_port, timeout=2)
            raise AssertionError("the old risk_manager port still answers")
        except OSError:
            pass
        assert counter(d) == 3, "an untouched family lost its counts"
        # Remove a service by SIGHUP: its port closes, its lines are refused.
        alert_port = new_services.pop("alert_system")
        rewrite(d, services=new_services)
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.admin_value("tally_config_reloads_total", result="success") == 2, what="the SIGHUP")
        wait_until(lambda: _closed(alert_port), what="the removed service's port to close")
        assert "removed service alert_system (1 series dropped)" in d.output()
        assert d.admin_value("tally_series_removed_total", reason="service_removed") == 1
        d.send("alerts_triggered_total:1|c|#service:alert_system,alert_type:price,priority:high")
        wait_until(lambda: d.rejected("unknown_service") == 1, what="a removed service's line refused")
        assert counter(d) == 3
        assert d.admin_value("tally_config_reloads_total", result="failure") == 0


def _closed(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        return True


def test_listeners_added_and_removed_and_a_bind_failure_changes_nothing():
    with Tallyd(services=["order_executor"]) as d:
        first_tcp = d.tcp_port
        second_tcp = free_port()
        rewrite(d, tcp=[first_tcp, second_tcp])
        status, body = post(d.admin_port, "/-/reload")
        assert status == 200 and f"tcp:127.0.0.1:{second_tcp}" in body, body
        with socket.create_connection(("127.0.0.1", second_tcp), timeout=5) as s:
            s.sendall((ORDER.format(s="TCP2") + "\n").encode())
        wait_until(lambda: counter(d, sym="TCP2") == 1, what="a line over the new TCP listener")
        # A port someone else holds: the reload fails (400), nothing changes, it is counted.
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        taken = blocker.getsockname()[1]
        try:
            rewrite(d, tcp=[first_tcp, taken], services={"order_executor": d.services["order_executor"],
                                                       "risk_manager": free_port()})
            status, body = post(d.admin_port, "/-/reload")
            assert status == 400 and "address already in use" in body, body
            assert not _closed(second_tcp), "the running TCP listener was closed by a failed reload"
            assert d.admin_value("tally_config_reloads_total", result="failure") == 1
            samples = d.samples(None)
            assert ("tally_series", frozenset({("service", "risk_manager")})) not in samples
        finally:
            blocker.close()
        # Remove the second TCP listener: it closes; the first keeps working.
        rewrite(d, tcp=[first_tcp], services={"order_executor": d.services["order_executor"]})
        status, body = post(d.admin_port, "/-/reload")
        assert status == 200, body
        wait_until(lambda: _closed(second_tcp), what="the removed TCP listener to close")
        with socket.create_connection(("127.0.0.1", first_tcp), timeout=5) as s:
            s.sendall((ORDER.format(s="TCP1") + "\n").encode())
        wait_until(lambda: counter(d, sym="TCP1") == 1)


def test_default_service_and_line_limit_apply_live():
    with Tallyd(services=["order_executor", "risk_manager"]) as d:
        d.send("jobs:1|c")
        wait_until(lambda: d.rejected("no_service") == 1)
        rewrite(d, extra="default_service: risk_manager\n")
        status, body = post(d.admin_port, "/-/reload")
        assert status == 200 and "ingest settings" in body, body
        d.send("jobs:1|c")
        wait_until(lambda: d.value("risk_manager", "jobs_total") == 1, what="default_service applied live")


def test_reload_time_with_many_series_is_reported():
    """The summary says how long the reload took (the note reports it with 100k series)."""
    with Tallyd(services=["order_executor"]) as d:
        rewrite(d, extra="log_level: debug\n")
        start = time.monotonic()
        status, body = post(d.admin_port, "/-/reload")
        assert status == 200 and body.rstrip().endswith("ms)"), body
        assert time.monotonic() - start < 10


def test_a_unix_socket_added_and_removed_live():
    with Tallyd(services=["order_executor"]) as d:
        path = d.unix_path("live")
        text = open(d.config_path).read().replace("  unix: []", f"  unix:\n    - {{path: {path}, service: order_executor}}")
        with open(d.config_path, "w") as f:
            f.write(text)
        status, body = post(d.admin_port, "/-/reload")
        assert status == 200 and f"unix:{path}" in body, body
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(b"orders_placed_total:1|c|#order_type:limit,symbol:UNIX,side:buy", path)
        wait_until(lambda: counter(d, sym="UNIX") == 1, what="a line over the new Unix socket (its service bound)")
        with open(d.config_path, "w") as f:
            f.write(text.replace(f"  unix:\n    - {{path: {path}, service: order_executor}}", "  unix: []"))
        status, body = post(d.admin_port, "/-/reload")
        assert status == 200 and f"closed unix:{path}" in body, body
        import os
        wait_until(lambda: not os.path.exists(path), what="the removed socket's file to go")
