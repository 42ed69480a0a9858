"""Test kit: a real tallyd on free loopback ports, real sockets, real parsers.

    with Tallyd() as d:
        d.send("orders_placed_total:1|c|#service:order_executor,...")
        d.wait_for(lambda: d.value("order_executor", "orders_placed_total", order_type="limit") == 1)

Every wait has a timeout; every address is on loopback.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TALLYD = os.environ.get("TALLYD", os.path.join(ROOT, ".build", "debug", "tallyd"))
TALLY = os.environ.get("TALLY", os.path.join(os.path.dirname(TALLYD), "tally"))
# The one version (VERSION); every binary, the package and the Python client carry it.
with open(os.path.join(ROOT, "VERSION")) as _f:
    VERSION = _f.read().strip()
SERVICES = {
    "strategy_service": 8003, "risk_manager": 8002, "alert_system": 8007,
    "api_gateway": 8080, "market_data_service": 9001, "order_executor": 9002,
}
# The lints promtool reports on documented names. The spec names two gauges against
# convention (db_connections_total, active_positions_count); the documented names stand.
DOCUMENTED_LINT = {
    'db_connections_total non-counter metrics should not have "_total" suffix',
    'active_positions_count non-histogram and non-summary metrics should not have "_count" suffix',
}


# free_port: one helper for the tests and the benchmark scripts (scripts/freeport.py).
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from freeport import free_port  # noqa: E402


class _Exited(Exception):
    """tallyd ended while a test waited for it to answer."""

    def __init__(self, code):
        super().__init__(f"tallyd exited with {code}")
        self.code = code


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except _Exited:
            raise
        except Exception as e:  # noqa: BLE001 - keep polling until the deadline
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def http_get(port, path="/metrics", method="GET", timeout=5.0, ssl_context=None, auth=None, headers=None):
    """(status, headers, body); `ssl_context` makes it https, `auth` is (user, password)."""
    scheme = "https" if ssl_context else "http"
    req = urllib.request.Request(f"{scheme}://127.0.0.1:{port}{path}", method=method, headers=headers or {})
    if auth:
        import base64
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ssl_context) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8")


def promtool(text):
    """(exit code, problems) of `promtool check metrics`; exit 1 is a parse error."""
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    out = (p.stdout + p.stderr).decode()
    return p.returncode, [line for line in out.splitlines() if line.strip()]


def assert_valid_exposition(text):
    """Parses with prometheus_client and promtool; only the documented lint is tolerated."""
    families = list(text_string_to_metric_families(text))
    rc, problems = promtool(text)
    assert rc in (0, 3), f"promtool could not parse the exposition (rc={rc}): {problems}\n{text}"
    unexpected = [p for p in problems if p not in DOCUMENTED_LINT]
    assert not unexpected, f"promtool problems: {unexpected}"
    return families


def assert_parseable_exposition(text):
    """Format only: prometheus_client parses it and promtool finds no error. Style lints
    (camelCase names a sender chose) are the sender's business, not a format problem."""
    families = list(text_string_to_metric_families(text))
    rc, problems = promtool(text)
    assert rc in (0, 3), f"promtool could not parse the exposition (rc={rc}): {problems}\n{text}"
    return families


def catalogue_families():
    """The families of config/families.yaml, each with its category's buckets applied."""
    import yaml
    with open(os.path.join(ROOT, "config", "families.yaml")) as f:
        doc = yaml.safe_load(f)
    out = []
    for cat in doc["categories"]:
        for fam in cat["families"]:
            out.append({**fam, "category": cat["name"], "buckets": fam.get("buckets", cat.get("buckets"))})
    return out


def lines_for_all_families(service):
    """One valid StatsD line per documented family, for `service`."""
    lines = []
    for fam in catalogue_families():
        tags = [f"{label}:v_{label}" for label in fam["labels"] if label != "service_name"]
        field = {"counter": "c", "gauge": "g", "histogram": "ms", "summary": "h"}[fam["type"]]
        tag_text = ",".join([f"service:{service}"] + tags)
        lines.append(f"{fam['name']}:{1 if field != 'ms' else 250}|{field}|#{tag_text}")
    return lines


class Tallyd:
    def __init__(self, extra_yaml="", services=None, admin=True, udp_count=1, args=None, unix=None, ingest_yaml="",
                 env=None, prefix=None, pass_fds=(), client=None):
        """unix: {name: service-or-None}; each becomes a socket at self.unix_path(name).
        env: extra environment; prefix: a command tallyd runs under (systemd-socket-activate);
        pass_fds: descriptors to inherit (socket activation by hand); client: http_get's
        ssl_context/auth for a daemon behind a web config."""
        self.env = env or {}
        self.client = client or {}
        self.prefix = prefix or []
        self.pass_fds = pass_fds
        self._service_names = list(services or SERVICES)
        self._udp_count = udp_count
        self._with_admin = admin
        self._extra_yaml = extra_yaml
        self._ingest_yaml = ingest_yaml
        self.dir = tempfile.TemporaryDirectory(prefix="tallyd-test-")
        self.config_path = os.path.join(self.dir.name, "tallyd.yaml")
        self.unix = unix or {}
        self._pick_ports()
        self.args = args or []
        self.proc = None
        self.log_path = os.path.join(self.dir.name, "tallyd.log")

    def _pick_ports(self):
        """Chooses every port afresh and writes the config with them."""
        self.services = {name: free_port() for name in self._service_names}
        self.udp_ports = [free_port(socket.SOCK_DGRAM) for _ in range(self._udp_count)]
        self.tcp_port = free_port()
        self.admin_port = free_port() if self._with_admin else None
        self._write_config()

    def _write_config(self):
        lines = ["ingest:", "  udp: [" + ", ".join(f'"127.0.0.1:{p}"' for p in self.udp_ports) + "]",
                 f'  tcp: ["127.0.0.1:{self.tcp_port}"]']
        def unix_entry(name, spec):
            # spec: a service name, None, or {key: YAML value} for anything else (identity: peer ...)
            extra = "".join(f", {k}: {v}" for k, v in spec.items()) if isinstance(spec, dict) else (
                f", service: {spec}" if spec else "")
            return f"    - {{path: {self.unix_path(name)}{extra}}}"
        lines += ["  unix:"] + [unix_entry(n, s) for n, s in self.unix.items()] if self.unix else ["  unix: []"]
        lines += [self._ingest_yaml.rstrip()] if self._ingest_yaml else []
        lines += ["metrics:", '  address: "127.0.0.1"']
        lines += ["admin:", '  address: "127.0.0.1"', f"  port: {self.admin_port}"] if self._with_admin else ["admin: null"]
        lines += ["services:"] + [f"  {n}: {{port: {p}}}" for n, p in self.services.items()]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n" + self._extra_yaml)

    def unix_path(self, name):
        return os.path.join(self.dir.name, f"{name}.sock")

    @property
    def udp_port(self):
        return self.udp_ports[0]

    def launch(self):
        """Starts the process without waiting for it to answer."""
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([*self.prefix, TALLYD, "--config", self.config_path, *self.args],
                                     stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **self.env},
                                     pass_fds=self.pass_fds)
        return self

    def start(self, timeout=20.0, attempts=5):
        """Launches tallyd and waits until every endpoint answers. A start that failed because
        another process took one of the ports first ("address already in use") is retried on
        fresh ports, so a busy machine cannot make a run flaky."""
        for attempt in range(attempts):
            self.launch()
            ports = list(self.services.values()) + ([self.admin_port] if self.admin_port else [])

            def ready():
                if self.proc.poll() is not None:
                    raise _Exited(self.proc.returncode)
                if not all(http_get(p, "/metrics", timeout=1, **self.client)[0] == 200 for p in ports):
                    return False
                # Endpoints answer a moment before the daemon says it is ready (all bound, state restored).
                return not self.admin_port or http_get(self.admin_port, "/-/ready", timeout=1, **self.client)[0] == 200
            try:
                wait_until(ready, timeout=timeout, what="tallyd endpoints to answer")
                return self
            except _Exited as exited:
                output = self.output()
                self.log.close()
                if "address already in use" in output and attempt + 1 < attempts:
                    self._pick_ports()
                    continue
                raise AssertionError(f"tallyd exited with {exited.code}: {output}") from None
        raise AssertionError("unreachable")

    def output(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, timeout=15.0):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                raise AssertionError("tallyd did not stop within 15s of SIGTERM")
        code = self.proc.returncode if self.proc else 0
        if self.proc:
            self.log.close()
        return code

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        code = self.stop()
        self.dir.cleanup()
        if exc[0] is None:
            assert code == 0, f"tallyd exited with {code}"

    # sending
    def send(self, payload, port=None):
        """From one socket for the daemon's life, as a client library sends: tallyd spreads
        UDP over several SO_REUSEPORT loops by source address, so one source keeps its order."""
        data = payload.encode() if isinstance(payload, str) else payload
        if getattr(self, "_udp", None) is None:
            self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.sendto(data, ("127.0.0.1", port or self.udp_port))

    def send_unix(self, name, payload):
        """From an unbound datagram socket, as socat and most clients send."""
        data = payload.encode() if isinstance(payload, str) else payload
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(data, self.unix_path(name))

    def tcp(self):
        s = socket.create_connection(("127.0.0.1", self.tcp_port), timeout=5)
        return s

    # reading
    def scrape(self, service):
        status, headers, body = http_get(self.services[service], **self.client)
        assert status == 200, (status, body)
        assert headers.get("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
        return body

    def admin(self):
        status, _, body = http_get(self.admin_port, **self.client)
        assert status == 200
        return body

    def samples(self, service=None, text=None):
        """{(sample name, frozenset(labels)): value} of a service (or the admin endpoint)."""
        text = text if text is not None else (self.scrape(service) if service else self.admin())
        out = {}
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                out[(s.name, frozenset(s.labels.items()))] = s.value
        return out

    def value(self, service, name, **labels):
        return self.samples(service).get((name, frozenset(labels.items())))

    def admin_value(self, name, **labels):
        return self.samples(None).get((name, frozenset(labels.items())), 0.0)

    def admin_sum(self, name, **labels):
        """The sum of `name` over every series whose labels include `labels`."""
        want = set(labels.items())
        return sum(v for (n, labels), v in self.samples(None).items() if n == name and want <= set(labels))

    def rejected(self, reason, service=None):
        """Refusals of `reason` (of every service, or of `service`; "" = no identity)."""
        labels = {"reason": reason} if service is None else {"reason": reason, "service": service}
        return self.admin_sum("tally_lines_rejected_total", **labels)

    def received(self, transport="udp"):
        return self.admin_sum("tally_lines_received_total", transport=transport)

    def wait_received(self, n, timeout=10.0, transport="udp"):
        """Waits until the daemon has seen at least n lines (datagrams are asynchronous)."""
        return wait_until(lambda: self.received(transport) >= n, timeout=timeout, what=f"{n} {transport} lines received")
