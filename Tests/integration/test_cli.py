"""tallyd's command line: help, config checking, startup failures, shutdown."""
import os
import socket
import subprocess
import sys

from tallykit import ROOT, TALLYD, Tallyd


def run(*args, timeout=20):
    return subprocess.run([TALLYD, *args], capture_output=True, text=True, timeout=timeout)


def test_help_teaches_the_protocol():
    r = run("--help")
    assert r.returncode == 0
    for needle in ["name:value|type", "service_name", "missing_label", "--check-config", "8003/metrics"]:
        assert needle in r.stdout, needle


def test_print_default_config_is_the_shipped_file():
    r = run("--print-default-config")
    with open(os.path.join(ROOT, "config", "tallyd.yaml")) as f:
        assert r.stdout == f.read()
    r = run("--print-default-catalogue")
    with open(os.path.join(ROOT, "config", "families.yaml")) as f:
        assert r.stdout == f.read()


def test_check_config(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("heartbeat_timeout: 10s\n")
    r = run("--check-config", str(good))
    assert r.returncode == 0, r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("services:\n  a: {port: 9000}\n  b: {port: 9000}\nmetrics:\n  adress: x\n")
    r = run("--check-config", str(bad))
    assert r.returncode == 1
    assert f"{bad}:5: metrics.adress: unknown key" in r.stderr
    r = run("--check-config", str(tmp_path / "missing.yaml"))
    assert r.returncode == 1 and "cannot open" in r.stderr


def test_bad_catalogue_is_refused(tmp_path):
    cat = tmp_path / "families.yaml"
    cat.write_text("categories:\n  - name: x\n    families:\n      - {name: c, type: counter}\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"catalogue: {cat}\n")
    r = run("--check-config", str(cfg))
    assert r.returncode == 1 and f"{cat}:4" in r.stderr and "must end in _total" in r.stderr


def test_port_in_use_names_port_and_service():
    d = Tallyd()
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", d.services["alert_system"]))
    blocker.listen()
    try:
        r = subprocess.run([TALLYD, "--config", d.config_path], capture_output=True, text=True, timeout=20)
        assert r.returncode != 0
        assert f"127.0.0.1:{d.services['alert_system']}" in r.stderr and "alert_system" in r.stderr
        assert "already in use" in r.stderr
    finally:
        blocker.close()
        d.dir.cleanup()


def test_sigterm_exits_zero():
    d = Tallyd().start()
    assert d.stop() == 0
    assert "shutting down" in d.output()
    d.dir.cleanup()


def test_one_version_in_both_binaries_build_info_and_the_python_client():
    """VERSION is the one place: the binaries, tally_build_info and the Python client agree with
    it (the package's version and the remote-write User-Agent are checked where they are made)."""
    from tallykit import TALLY, VERSION
    tallyd = run("--version")
    tally = subprocess.run([TALLY, "--version"], capture_output=True, text=True, timeout=20)
    assert tallyd.returncode == 0 and tally.returncode == 0
    assert tallyd.stdout.strip() == tally.stdout.strip() == VERSION
    with Tallyd(services=["risk_manager"]) as d:
        samples = d.samples(None)
        versions = [dict(labels)["version"] for (name, labels) in samples if name == "tally_build_info"]
        assert versions == [VERSION]
    client = os.path.join(ROOT, "clients", "python")
    p = subprocess.run([sys.executable, "-c", "import tally_client; print(tally_client.__version__)"],
                       capture_output=True, text=True, timeout=20, cwd=client)
    assert p.stdout.strip() == VERSION, p.stderr


def test_check_config_warns_about_a_limit_for_no_family_and_names_the_nearest(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("limits:\n  families:\n    orders_placd_total: 5\n")
    r = run("--check-config", str(path))
    assert r.returncode == 0, r.stderr
    assert f"{path}:3: limits.families.orders_placd_total names no documented family" in r.stderr
    assert "did you mean orders_placed_total?" in r.stderr


def test_check_config_names_both_keys_of_an_address_conflict(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text('ingest:\n  tcp: ["127.0.0.1:19102"]\nadmin: {address: 127.0.0.1, port: 19102}\n')
    r = run("--check-config", str(path))
    assert r.returncode == 1
    assert f"{path}:3: admin.port: TCP 127.0.0.1:19102 is also ingest.tcp[0] ({path}:2)" in r.stderr, r.stderr


def test_check_config_catches_a_missing_unix_group(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(f"ingest:\n  unix: [{{path: {tmp_path}/x.sock, group: no-such-group-here}}]\n")
    r = run("--check-config", str(path))
    assert r.returncode == 1
    assert f"{path}:2: ingest.unix[0].group: group 'no-such-group-here' does not exist" in r.stderr, r.stderr


def test_an_empty_config_file_runs_the_defaults(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("# nothing to change yet\n")
    r = run("--check-config", str(path))
    assert r.returncode == 0 and "ok (6 services" in r.stdout, (r.stdout, r.stderr)


def test_port_zero_everywhere_binds_free_ports_shown_on_the_admin_endpoint(tmp_path):
    """Port 0 never conflicts: every listener gets its own free port, logged and listed in
    tally_listener_info."""
    import re
    import signal

    from tallykit import http_get, wait_until
    path = tmp_path / "t.yaml"
    path.write_text('ingest: {udp: ["127.0.0.1:0"], tcp: ["127.0.0.1:0"]}\n'
                    "admin: {address: 127.0.0.1, port: 0}\n"
                    "services:\n  a: {port: 0}\n  b: {port: 0}\n")
    log = tmp_path / "log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([TALLYD, "--config", str(path)], stdout=out, stderr=subprocess.STDOUT)
    try:
        ready = wait_until(lambda: re.search(r"admin=http://127\.0\.0\.1:(\d+)/metrics", log.read_text()),
                           timeout=20, what="the ready line")
        admin = int(ready.group(1))
        status, _, body = http_get(admin)
        assert status == 200
        info = dict(re.findall(r'tally_listener_info\{listener="([^"]+)",protocol="[a-z]+",address="([^"]+)"\} 1',
                               body))
        assert set(info) == {"ingest.udp[0]", "ingest.tcp[0]", "services.a", "services.b", "admin"}, body
        ports = {k: int(v.rsplit(":", 1)[1]) for k, v in info.items()}
        assert all(p > 0 for p in ports.values()), ports
        assert len({ports["services.a"], ports["services.b"], ports["admin"], ports["ingest.tcp[0]"]}) == 4
        assert http_get(ports["services.b"])[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_config_errors_name_the_file_line_and_key_for_files_and_sockets(tmp_path):
    """A missing catalogue or web config, and a Unix socket's unknown service, are reported at
    the key that names them (they came without a line, or under `ingest`)."""
    cases = [
        ("# the catalogue\ncatalogue: /nonexistent/families.yaml\n",
         ":2: catalogue: cannot read /nonexistent/families.yaml: No such file or directory"),
        ("web_config_file: /nonexistent/web.yml\n",
         ":1: web_config_file: cannot read /nonexistent/web.yml: No such file or directory"),
        (f"ingest:\n  unix:\n    - path: {tmp_path}/a.sock\n    - path: {tmp_path}/b.sock\n      service: nobody\n",
         ":5: ingest.unix[1].service: 'nobody' is not one of the configured services"),
    ]
    for i, (text, expected) in enumerate(cases):
        cfg = tmp_path / f"c{i}.yaml"
        cfg.write_text(text)
        r = run("--check-config", str(cfg))
        assert r.returncode == 1 and f"tallyd: {cfg}{expected}" in r.stderr, r.stderr


def test_check_config_refuses_what_startup_refuses_and_counts_every_listener(tmp_path):
    regular = tmp_path / "not-a-socket"
    regular.write_text("data")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"ingest:\n  unix:\n    - path: {regular}\n")
    r = run("--check-config", str(cfg))
    assert r.returncode == 1, r.stdout
    assert f"{cfg}:3: ingest.unix[0].path: {regular} is a file that is not a socket" in r.stderr, r.stderr
    # Startup refuses the same config, for the same reason.
    r = run("--config", str(cfg))
    assert r.returncode == 1 and "not a socket" in r.stderr, r.stderr
    assert regular.read_text() == "data"
    ok = tmp_path / "ok.yaml"
    ok.write_text(f"ingest:\n  udp: [127.0.0.1:0]\n  tcp: [127.0.0.1:0]\n  unix:\n    - path: {tmp_path}/i.sock\n")
    r = run("--check-config", str(ok))
    assert r.returncode == 0, r.stderr
    assert "6 services; ingest 1 UDP, 1 TCP, 1 Unix; 7 HTTP endpoints" in r.stdout, r.stdout


def test_config_and_check_config_together_is_an_error_not_a_silent_choice(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("heartbeat_timeout: 10s\n")
    r = run("--config", str(tmp_path / "other.yaml"), "--check-config", str(cfg))
    assert r.returncode == 64 and "--config" in r.stderr and "would be ignored" in r.stderr, r.stderr
