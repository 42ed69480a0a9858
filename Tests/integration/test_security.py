"""Securing tallyd: exporter-toolkit's web config (TLS from certificates made here by openssl,
basic auth with bcrypt hashes from Python's bcrypt and from `tally hash-password`), the real
Prometheus scraping through both, and the bounds against hostile clients (connection limits,
oversized headers, slowloris) while a normal scrape keeps answering."""
import os
import shutil
import ssl
import subprocess
import urllib.error

import bcrypt
import pytest
from tallykit import TALLY, Tallyd, free_port, http_get, wait_until

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed (scripts/install-deps.sh test)")


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1 signed by it, and a client certificate."""
    def run(*args):
        subprocess.run([OPENSSL, *args], check=True, capture_output=True, timeout=60)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt",
        "-days", "2", "-subj", "/CN=tally test CA")
    for name, ext in [("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"), ("client", "extendedKeyUsage=clientAuth")]:
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr",
            "-subj", f"/CN={name}")
        with open(f"{d}/{name}.ext", "w") as f:
            f.write(ext + "\n")
        run("x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.crt", "-CAkey", f"{d}/ca.key",
            "-CAcreateserial", "-out", f"{d}/{name}.crt", "-days", "2", "-extfile", f"{d}/{name}.ext")
    return d


def client_context(d, cert=False):
    ctx = ssl.create_default_context(cafile=f"{d}/ca.crt")
    if cert:
        ctx.load_cert_chain(f"{d}/client.crt", f"{d}/client.key")
    return ctx


def hashed(password):
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()


def test_basic_auth_challenges_refuses_counts_and_admits():
    d = Tallyd(services=["order_executor"], client={"auth": ("prometheus", "s3cret")})
    web = os.path.join(d.dir.name, "web.yml")
    with open(web, "w") as f:
        f.write(f"basic_auth_users:\n  prometheus: '{hashed('s3cret')}'\n")
    d.args = ["--web.config.file", web]
    with d:
        port = d.services["order_executor"]
        status, headers, _ = http_get(port)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic realm=")
        assert http_get(port, auth=("prometheus", "wrong"))[0] == 401
        assert http_get(port, auth=("nobody", "s3cret"))[0] == 401
        assert http_get(port, auth=("prometheus", "s3cret"))[0] == 200
        # The admin endpoint too, and POST /-/reload needs the password like everything else.
        assert http_get(d.admin_port, "/-/reload", method="POST")[0] == 401
        assert http_get(d.admin_port, "/-/reload", method="POST", auth=("prometheus", "s3cret"))[0] == 200
        assert d.admin_value("tally_http_auth_failures_total", endpoint="order_executor") == 2
        # Many wrong passwords from one address: answered 429 without running bcrypt.
        statuses = [http_get(port, auth=("prometheus", f"guess{i}"))[0] for i in range(15)]
        assert 429 in statuses and statuses.count(401) <= 10, statuses
        assert d.admin_value("tally_http_refused_total", endpoint="order_executor", reason="auth_rate_limited") >= 1
        # The right password still works (it is remembered, so it costs no bcrypt).
        assert http_get(port, auth=("prometheus", "s3cret"))[0] == 200
        # tally status names the 401 and what to do (it said "did not answer 200").
        p = subprocess.run([TALLY, "status", "--admin", f"127.0.0.1:{d.admin_port}"], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 1 and "answered 401" in p.stderr and "basic auth" in p.stderr, p.stderr


def test_bad_web_configs_are_refused_with_key_and_line(tmp_path):
    cases = [
        ("basic_auth_users:\n  alice: plaintext\n", "basic_auth_users.alice", "not a bcrypt hash"),
        ("tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n", "tls_server_config.cert_file",
         "cannot open"),
        ("tls_server_confg: {}\n", "tls_server_confg", "unknown key"),
        ("http_server_config:\n  headers:\n    X-Powered-By: me\n", "X-Powered-By", "may not be set"),
    ]
    for text, key, problem in cases:
        web = tmp_path / "web.yml"
        web.write_text(text)
        config = tmp_path / "tallyd.yaml"
        config.write_text(f"web_config_file: {web}\n")
        from tallykit import TALLYD
        p = subprocess.run([TALLYD, "--check-config", str(config)], capture_output=True, text=True, timeout=30)
        assert p.returncode == 1, (text, p.stdout)
        assert key in p.stderr and problem in p.stderr and str(web) in p.stderr, (text, p.stderr)
        assert ":2:" in p.stderr or ":1:" in p.stderr or ":3:" in p.stderr, p.stderr


def test_tally_hash_password_makes_a_hash_tallyd_accepts():
    p = subprocess.run([TALLY, "hash-password", "--cost", "5"], input="hunter2\n", capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    h = p.stdout.strip()
    assert h.startswith("$2b$05$") and bcrypt.checkpw(b"hunter2", h.encode())


@needs_openssl
def test_tls_with_curl_and_client_certificates(tmp_path):
    pki = make_pki(str(tmp_path))
    d = Tallyd(services=["order_executor"], client={"ssl_context": client_context(pki)})
    web = tmp_path / "web.yml"
    web.write_text("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                   "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=31536000\n")
    d.args = ["--web.config.file", str(web)]
    with d:
        port = d.services["order_executor"]
        ok = subprocess.run(["curl", "-sS", "--cacert", f"{pki}/ca.crt", f"https://127.0.0.1:{port}/metrics",
                             "-o", "/dev/null", "-w", "%{http_code}", "-D", "-"],
                            capture_output=True, text=True, timeout=30)
        assert ok.returncode == 0 and ok.stdout.endswith("200"), ok
        assert "strict-transport-security: max-age=31536000" in ok.stdout.lower()
        untrusted = subprocess.run(["curl", "-sS", f"https://127.0.0.1:{port}/metrics"], capture_output=True,
                                   text=True, timeout=30)
        assert untrusted.returncode == 60, untrusted  # curl: peer certificate cannot be authenticated
        plain = subprocess.run(["curl", "-sS", "--max-time", "5", f"http://127.0.0.1:{port}/metrics"],
                               capture_output=True, text=True, timeout=30)
        assert plain.returncode != 0
        wait_until(lambda: d.admin_value("tally_http_refused_total", endpoint="order_executor",
                                         reason="tls_handshake") >= 1, timeout=10, what="handshake failures counted")

        # A keep-alive connection opened before the reload keeps working after it.
        import http.client
        kept = http.client.HTTPSConnection("127.0.0.1", port, context=client_context(pki), timeout=5)
        kept.request("GET", "/metrics")
        first = kept.getresponse()
        assert first.status == 200 and first.read()

        # A client certificate required: refused without one, served with one; applied by a reload.
        web.write_text("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                       "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n")
        d.proc.send_signal(1)  # SIGHUP
        with_cert = client_context(pki, cert=True)

        def refused_without_cert():
            try:
                http_get(port, ssl_context=client_context(pki), timeout=2)
                return False
            except (ssl.SSLError, urllib.error.URLError, ConnectionError, OSError):
                return True
        assert wait_until(refused_without_cert, timeout=10, what="a client certificate to be required")
        assert http_get(port, ssl_context=with_cert)[0] == 200
        d.client = {"ssl_context": with_cert}
        assert d.admin_value("tally_config_reloads_total", result="success") == 1
        kept.request("GET", "/metrics")
        reply = kept.getresponse()
        assert reply.status == 200 and b"service_up" in reply.read()
        kept.close()


PROMETHEUS = shutil.which("prometheus")


@needs_openssl
@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is not installed (scripts/install-deps.sh test)")
def test_the_real_prometheus_scrapes_through_tls_and_basic_auth(tmp_path):
    import json

    import yaml
    pki = make_pki(str(tmp_path))
    d = Tallyd(services=["order_executor", "risk_manager"],
               client={"ssl_context": client_context(pki), "auth": ("prometheus", "s3cret")})
    web = tmp_path / "web.yml"
    web.write_text("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                   f"basic_auth_users:\n  prometheus: '{hashed('s3cret')}'\n")
    d.args = ["--web.config.file", str(web)]
    with d:
        d.send("orders_placed_total:3|c|#service:order_executor,order_type:limit,symbol:S,side:buy")
        secured = {"scheme": "https", "tls_config": {"ca_file": f"{pki}/ca.crt"},
                   "basic_auth": {"username": "prometheus", "password": "s3cret"}}
        config = {"global": {"scrape_interval": "1s"}, "scrape_configs": [
            {"job_name": "tally-services", "honor_labels": True, **secured, "static_configs": [
                {"targets": [f"127.0.0.1:{p}"], "labels": {"service_name": n}} for n, p in d.services.items()]},
            {"job_name": "tallyd", **secured, "static_configs": [{"targets": [f"127.0.0.1:{d.admin_port}"]}]},
            {"job_name": "wrong-password", **{**secured, "basic_auth": {"username": "prometheus", "password": "no"}},
             "static_configs": [{"targets": [f"127.0.0.1:{d.services['risk_manager']}"]}]},
        ]}
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        log = open(tmp_path / "prometheus.log", "wb")
        prom = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=log, stderr=subprocess.STDOUT)

        def api(path, **params):
            import urllib.parse
            url = f"http://127.0.0.1:{port}{path}?" + urllib.parse.urlencode(params)
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.loads(r.read())["data"]
        try:
            def health():
                targets = api("/api/v1/targets")["activeTargets"]
                return {t["scrapePool"]: t["health"] for t in targets} if len(targets) == 4 and all(
                    t["health"] != "unknown" for t in targets) else None
            wait_until(lambda: (h := health()) and h["tally-services"] == "up" and h["tallyd"] == "up"
                       and h["wrong-password"] == "down", timeout=30, what="targets scraped through TLS and auth")
            targets = api("/api/v1/targets")["activeTargets"]
            assert [t["health"] for t in targets if t["scrapePool"] != "wrong-password"] == ["up", "up", "up"]
            wrong = [t for t in targets if t["scrapePool"] == "wrong-password"][0]
            assert "401" in wrong["lastError"], wrong
            assert wait_until(lambda: api("/api/v1/query", query="orders_placed_total")["result"], timeout=20,
                              what="a sample scraped over TLS")
        finally:
            prom.terminate()
            prom.wait(timeout=20)
            log.close()
