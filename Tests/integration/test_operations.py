"""The admin endpoint at 3 a.m.: health and readiness, reload over HTTP, one scrape job for
every service, and self-metrics that name the culprit, all against the real daemon."""
import signal
import socket
import subprocess
import threading
import time

from tallykit import TALLY, Tallyd, http_get, promtool, wait_until

ORDER = "orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:{s},side:buy"


def post(port, path):
    import urllib.error
    import urllib.request
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST", data=b"")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_health_readiness_and_one_scrape_job_for_every_service():
    with Tallyd() as d:
        for path in ["/-/healthy", "/healthz", "/-/ready"]:
            status, _, body = http_get(d.admin_port, path)
            assert status == 200, (path, body)
        d.send(ORDER.format(s="AAPL"))
        wait_until(lambda: d.value("order_executor", "orders_placed_total", order_type="limit", symbol="AAPL",
                                   side="buy") == 1)
        # /metrics?service=NAME on the admin port is that service's own endpoint, byte for byte.
        for service in d.services:
            own = d.scrape(service)
            status, headers, via_admin = http_get(d.admin_port, f"/metrics?service={service}")
            assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
            assert via_admin == own
        status, _, body = http_get(d.admin_port, "/metrics?service=nope")
        assert status == 404 and "unknown service 'nope'" in body and "order_executor" in body
        assert http_get(d.admin_port, "/-/reload")[0] == 405


def test_self_metrics_name_the_culprit_and_pass_promtool():
    with Tallyd(extra_yaml="limits: {families: {orders_placed_total: 1}}\n") as d:
        d.send(ORDER.format(s="A"))
        d.send(ORDER.format(s="B"))                      # cardinality_limit for order_executor
        d.send("orders_placed_total:1|g|#service:risk_manager,order_type:limit,symbol:X,side:buy")
        d.send("x:NaN|c")                                # no identity: service=""
        d.wait_received(4)
        d.scrape("order_executor")
        d.scrape("order_executor")
        text = d.admin()
        s = d.samples(None)
        assert s[("tally_lines_rejected_total", frozenset({("reason", "cardinality_limit"),
                                                          ("service", "order_executor")}))] == 1
        assert s[("tally_lines_rejected_total", frozenset({("reason", "type_mismatch"),
                                                          ("service", "risk_manager")}))] == 1
        assert s[("tally_lines_rejected_total", frozenset({("reason", "invalid_value"), ("service", "")}))] == 1
        assert s[("tally_lines_received_total", frozenset({("transport", "udp"), ("service", "order_executor")}))] == 2
        assert s[("tally_cardinality_limited_total", frozenset({("service", "order_executor"),
                                                               ("family", "orders_placed_total")}))] == 1
        assert s[("tally_scrapes_total", frozenset({("service", "order_executor"), ("format", "text")}))] >= 2
        assert s[("tally_scrape_duration_seconds_count", frozenset({("service", "order_executor")}))] >= 2
        assert s[("tally_scrape_bytes", frozenset({("service", "order_executor")}))] > 100
        assert s[("tally_config_reloads_total", frozenset({("result", "success")}))] == 0
        assert s[("tally_config_last_reload_successful", frozenset())] == 1
        assert s[("tally_config_last_reload_success_timestamp_seconds", frozenset())] > 1.7e9
        assert s[("process_open_fds", frozenset())] > 5
        assert s[("process_max_fds", frozenset())] >= s[("process_open_fds", frozenset())]
        assert s[("process_virtual_memory_bytes", frozenset())] > s[("process_resident_memory_bytes", frozenset())]
        rc, problems = promtool(text)
        assert rc == 0 and problems == [], problems


def test_reload_over_http_applies_or_says_why_and_keeps_serving():
    with Tallyd(extra_yaml="log_level: info\n") as d:
        with open(d.config_path) as f:
            good = f.read()
        with open(d.config_path, "w") as f:
            f.write(good.replace("log_level: info", "log_level: debug"))
        status, body = post(d.admin_port, "/-/reload")
        assert status == 200 and body.startswith("ok\n") and "log_level=debug" in body, body
        with open(d.config_path, "w") as f:
            f.write(good + "bogus_key: 1\n")
        status, body = post(d.admin_port, "/-/reload")
        assert status == 400 and "bogus_key: unknown key" in body and "tallyd.yaml:" in body, body
        # The running config keeps serving every port.
        for service in d.services:
            assert http_get(d.services[service])[0] == 200
        # SIGHUP counts the same way.
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.admin_value("tally_config_reloads_total", result="failure") == 2, what="the SIGHUP")
        assert d.admin_value("tally_config_reloads_total", result="success") == 1
        assert d.admin_value("tally_config_last_reload_successful") == 0


def test_ready_is_503_while_a_large_state_is_restored(tmp_path):
    state = str(tmp_path / "state")
    limits = "limits: {max_series_per_family: 1000000, max_series_per_service: 1000000}\n"
    first = Tallyd(args=["--state-file", state], services=["order_executor"], extra_yaml=limits)
    with first:
        p = subprocess.run([TALLY, "load", "--tcp", f"127.0.0.1:{first.tcp_port}", "--series", "200000",
                            "--duration", "3s", "--admin", f"127.0.0.1:{first.admin_port}"],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        wait_until(lambda: first.admin_value("tally_series", service="order_executor") >= 100000, timeout=30,
                   what="100k series")
    second = Tallyd(args=["--state-file", state], services=["order_executor"], extra_yaml=limits)
    second.launch()
    seen = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status = http_get(second.admin_port, "/-/ready", timeout=1)[0]
            except OSError:
                status = None
            if status is not None and (not seen or seen[-1] != status):
                seen.append(status)
            if status == 200:
                break
            time.sleep(0.002)
        assert seen[:1] == [503] and seen[-1] == 200, seen
        assert second.admin_value("tally_state_restored_series") >= 100000
    finally:
        assert second.stop() == 0
        second.dir.cleanup()
        first.dir.cleanup()


def test_ready_is_503_from_the_moment_shutdown_begins():
    d = Tallyd(services=["order_executor"])
    d.start()
    stop = threading.Event()

    def keep_sending():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        payload = "\n".join(ORDER.format(s=f"S{i}") for i in range(20)).encode()
        end = time.monotonic() + 15
        while not stop.is_set() and time.monotonic() < end:
            s.sendto(payload, ("127.0.0.1", d.udp_port))
            time.sleep(0.0005)

    sender = threading.Thread(target=keep_sending)
    sender.start()
    try:
        assert http_get(d.admin_port, "/-/ready")[0] == 200
        d.proc.send_signal(signal.SIGTERM)
        statuses = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and d.proc.poll() is None:
            try:
                statuses.append(http_get(d.admin_port, "/-/ready", timeout=1)[0])
            except OSError:
                break
        # While the receive queues drain (senders still sending), the endpoint still answers, 503.
        assert 503 in statuses and 200 not in statuses[statuses.index(503):], statuses
    finally:
        stop.set()
        sender.join(timeout=20)
        assert d.stop() == 0
        d.dir.cleanup()
