"""Remote write from real tallyd instances into the real Prometheus receiver (Debian's 2.42,
--web.enable-remote-write-receiver): labels and values per host, an outage with the queue
holding and dropping intervals, and small Python receivers answering 400 and 503."""
import http.server
import json
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest
from tallykit import TALLYD, VERSION, Tallyd, free_port, http_get, wait_until

PROMETHEUS = shutil.which("prometheus")
needs_prometheus = pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is not installed (scripts/install-deps.sh test)")
ORDER = "orders_placed_total:{n}|c|#service:order_executor,order_type:limit,symbol:BTC,side:buy"


class Prometheus:
    def __init__(self, tmp_path, port=None):
        self.port = port or free_port()
        self.dir = tmp_path
        (tmp_path / "prometheus.yml").write_text("global: {scrape_interval: 15s}\n")
        self.proc = None

    def start(self):
        self.log = open(self.dir / "prometheus.log", "ab")
        self.proc = subprocess.Popen([PROMETHEUS, f"--config.file={self.dir / 'prometheus.yml'}",
                                      f"--storage.tsdb.path={self.dir / 'data'}",
                                      f"--web.listen-address=127.0.0.1:{self.port}",
                                      "--web.enable-remote-write-receiver"], stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2).status == 200,
                   timeout=30, what="prometheus ready")
        return self

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.log.close()
            self.proc = None

    def query(self, q):
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())["data"]["result"]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/api/v1/write"


def remote_write_yaml(url, interval="1s", extra=""):
    return f"remote_write:\n  - url: {url}\n    interval: {interval}\n{extra}"


@needs_prometheus
def test_three_hosts_push_into_one_prometheus(tmp_path):
    prom = Prometheus(tmp_path).start()
    daemons = []
    try:
        for i, host in enumerate(["web-1", "web-2", "web-3"]):
            d = Tallyd(services=["order_executor", "risk_manager"],
                       extra_yaml=remote_write_yaml(prom.url, extra=f"    external_labels: {{host: {host}}}\n"))
            d.start()
            daemons.append(d)
            for _ in range(i + 1):
                d.send(ORDER.format(n=10))
            d.send("db_connections_total:7|g|#service:risk_manager")
            d.send("http_request_duration_seconds:250|ms|#service:risk_manager,method:GET,path:/x")
        for i, d in enumerate(daemons):
            d.wait_received(i + 3)

        def by_host():
            return {r["metric"]["host"]: float(r["value"][1])
                    for r in prom.query("sum by (host) (orders_placed_total)")}
        wait_until(lambda: by_host() == {"web-1": 10.0, "web-2": 20.0, "web-3": 30.0}, timeout=30,
                   what="every host's counter in prometheus")
        series = prom.query('orders_placed_total{host="web-2"}')
        assert len(series) == 1
        labels = series[0]["metric"]
        assert labels["job"] == "tally" and labels["service_name"] == "order_executor" and labels["instance"]
        assert {labels[k] for k in ["order_type", "symbol", "side"]} == {"limit", "BTC", "buy"}
        gauges = prom.query('db_connections_total{service_name="risk_manager"}')
        assert sorted(r["metric"]["host"] for r in gauges) == ["web-1", "web-2", "web-3"]
        assert all(float(r["value"][1]) == 7 for r in gauges)
        quantile = prom.query('histogram_quantile(0.5, sum by (le) (http_request_duration_seconds_bucket{host="web-1"}))')
        assert quantile and 0.1 < float(quantile[0]["value"][1]) <= 0.5
        assert prom.query('service_up{host="web-3",service_name="order_executor"}')
        d = daemons[0]
        url = prom.url
        assert d.admin_value("tally_remote_write_samples_total", url=url, result="success") > 0
        assert d.admin_value("tally_remote_write_last_success_timestamp_seconds", url=url) > time.time() - 30
        status = json.loads(http_get(d.admin_port, "/api/v1/status")[2])
        assert status["remote_write"][0]["url"] == url and status["remote_write"][0]["healthy"]
        page = http_get(d.admin_port, "/")[2]
        assert 'id="remote-write"' in page and f'data-url="{url}"' in page and "delivering" in page
    finally:
        for d in daemons:
            d.stop()
        prom.stop()


@needs_prometheus
def test_an_outage_is_bridged_by_the_queue_and_what_it_cannot_hold_is_counted(tmp_path):
    prom = Prometheus(tmp_path).start()
    d = Tallyd(services=["order_executor"],
               extra_yaml=remote_write_yaml(prom.url, extra="    queue: {capacity_intervals: 5}\n"))
    total = 0
    try:
        d.start()
        d.send(ORDER.format(n=1))
        total += 1
        wait_until(lambda: prom.query("orders_placed_total"), timeout=20, what="the first delivery")
        prom.stop()
        outage_start = time.time()
        outage_end = time.monotonic() + 8
        while time.monotonic() < outage_end:
            d.send(ORDER.format(n=2))
            total += 2
            # tallyd stays ready and keeps serving scrapes while the receiver is away.
            assert http_get(d.admin_port, "/-/ready")[0] == 200
            assert "orders_placed_total" in d.scrape("order_executor")
            time.sleep(0.5)
        outage_stop = time.time()
        d.wait_received(1 + (total - 1) // 2)
        queued = d.admin_value("tally_remote_write_queue_intervals", url=prom.url)
        assert queued == 5, queued
        dropped = d.admin_value("tally_remote_write_dropped_samples_total", url=prom.url, reason="queue_full")
        assert dropped > 0
        assert d.admin_value("tally_remote_write_samples_total", url=prom.url, result="retried") > 0
        prom.start()
        wait_until(lambda: d.admin_value("tally_remote_write_queue_intervals", url=prom.url) <= 1, timeout=60,
                   what="the queue to drain")
        wait_until(lambda: [float(r["value"][1]) for r in prom.query("orders_placed_total")] == [float(total)],
                   timeout=30, what=f"the latest counter value to be the {total} sent")
        # The queued intervals arrived: those the queue held, stamped inside the outage (Prometheus
        # takes a second or two to start, and intervals queued meanwhile push out the oldest).
        raw = prom.query("orders_placed_total[2m]")
        stamps = [float(t) for t, _ in raw[0]["values"]]
        inside = [t for t in stamps if outage_start < t < outage_stop]
        assert len(inside) >= 2, (stamps, outage_start, outage_stop)
        print(f"outage {outage_stop - outage_start:.1f}s at a 1s interval, capacity 5: {queued:.0f} intervals queued, "
              f"{dropped:.0f} samples dropped (queue_full), {len(inside)} intervals from inside the outage delivered, "
              f"latest counter {total} as sent")
    finally:
        d.stop()
        prom.stop()


class Receiver(http.server.ThreadingHTTPServer):
    """Answers each POST with the next status of `statuses` (the last one repeats)."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        super().__init__(("127.0.0.1", free_port()), Handler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/api/v1/write"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        srv = self.server
        srv.requests.append((time.monotonic(), dict(self.headers), body))
        status = srv.statuses.pop(0) if len(srv.statuses) > 1 else srv.statuses[0]
        self.send_response(status)
        text = b"bad: out of order sample" if status == 400 else b"busy"
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, *args):
        pass


def serve(statuses):
    r = Receiver(statuses)
    threading.Thread(target=r.serve_forever, daemon=True).start()
    return r


def test_a_400_is_counted_logged_and_never_retried():
    r = serve([400])
    try:
        with Tallyd(services=["order_executor"], extra_yaml=remote_write_yaml(r.url, interval="1s")) as d:
            d.send(ORDER.format(n=1))
            wait_until(lambda: len(r.requests) >= 3, timeout=20, what="three intervals sent")
            times = [t for t, _, _ in r.requests]
            # One request per interval: nothing retried in between.
            assert all(b - a > 0.6 for a, b in zip(times, times[1:])), times
            assert d.admin_value("tally_remote_write_samples_total", url=r.url, result="rejected") > 0
            assert d.admin_value("tally_remote_write_dropped_samples_total", url=r.url, reason="rejected") > 0
            assert d.admin_value("tally_remote_write_samples_total", url=r.url, result="retried") == 0
            assert "HTTP 400" in d.output() and "out of order" in d.output()
            _, headers, body = r.requests[0]
            assert headers["Content-Encoding"] == "snappy" and headers["Content-Type"] == "application/x-protobuf"
            assert headers["X-Prometheus-Remote-Write-Version"] == "0.1.0"
            assert headers["User-Agent"] == f"tallyd/{VERSION}" and len(body) > 20
    finally:
        r.shutdown()


def test_a_503_is_retried_with_backoff_then_delivered(tmp_path):
    r = serve([503, 503, 503, 200])
    (tmp_path / "pass").write_text("s3cret\n")
    extra = (f"    basic_auth: {{username: tally, password_file: {tmp_path / 'pass'}}}\n"
             "    headers: {X-Scope-OrgID: trading}\n")
    try:
        with Tallyd(services=["order_executor"], extra_yaml=remote_write_yaml(r.url, interval="10s", extra=extra)) as d:
            d.send(ORDER.format(n=1))
            wait_until(lambda: d.admin_value("tally_remote_write_samples_total", url=r.url, result="success") > 0,
                       timeout=30, what="delivery after the 503s")
            times = [t for t, _, _ in r.requests[:4]]
            gaps = [b - a for a, b in zip(times, times[1:])]
            # Retried well before the next interval, each wait longer than the one before (backoff).
            assert len(times) == 4 and times[-1] - times[0] < 9, gaps
            assert gaps[2] > gaps[0], gaps
            assert d.admin_value("tally_remote_write_samples_total", url=r.url, result="retried") > 0
            _, headers, _ = r.requests[-1]
            assert headers["X-Scope-OrgID"] == "trading"
            assert headers["Authorization"] == "Basic dGFsbHk6czNjcmV0"
    finally:
        r.shutdown()


def test_bad_remote_write_config_is_refused_with_key_and_line(tmp_path):
    cases = [
        ("remote_write:\n  - url: 127.0.0.1:9090/api/v1/write\n", "remote_write[0].url", "not an http"),
        ("remote_write:\n  - url: http://h/w\n    interval: -5s\n", "remote_write[0].interval", ""),
        ("remote_write:\n  - url: http://h/w\n    basic_auth: {username: u, password_file: /nonexistent/p}\n",
         "remote_write[0].basic_auth.password_file", "cannot open"),
        ("remote_write:\n  - url: http://h/w\n    services: [nope]\n", "remote_write[0].services", "not one of"),
    ]
    for text, key, problem in cases:
        config = tmp_path / "tallyd.yaml"
        config.write_text(text)
        p = subprocess.run([TALLYD, "--check-config", str(config)], capture_output=True, text=True, timeout=30)
        assert p.returncode == 1, (text, p.stdout)
        assert key in p.stderr and problem in p.stderr and f"{config}:" in p.stderr, (text, p.stderr)


def test_sigterm_sends_one_last_interval_then_exits():
    r = serve([200])
    try:
        d = Tallyd(services=["order_executor"], extra_yaml=remote_write_yaml(r.url, interval="60s"))
        d.start()
        d.send(ORDER.format(n=1))
        wait_until(lambda: len(r.requests) >= 1, timeout=20, what="the first interval")
        d.send(ORDER.format(n=2))
        d.wait_received(2)
        before = len(r.requests)
        started = time.monotonic()
        assert d.stop() == 0
        # The next interval was a minute away: the request after SIGTERM is the last flush.
        assert len(r.requests) == before + 1 and time.monotonic() - started < 10, (before, len(r.requests))
        d.dir.cleanup()
    finally:
        r.shutdown()
