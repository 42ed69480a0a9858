"""`tally count/gauge/observe/set/time/up/down` against a real tallyd: the values land, what
tallyd would refuse is refused locally (exit 2, nothing sent), and `tally time` never changes
the command's behaviour."""
import os
import signal
import subprocess
import sys
import time

from tallykit import TALLY, Tallyd, wait_until

ORDER = ["-t", "order_type=limit", "-t", "symbol=BTCUSDT", "-t", "side=buy"]


def tally(d, *args, stdin=None, env=None, timeout=30):
    e = {**os.environ, "TALLY_ADDR": f"127.0.0.1:{d.udp_port}", **(env or {})}
    e.pop("TALLY_SERVICE", None) if "TALLY_SERVICE" not in (env or {}) else None
    return subprocess.run([TALLY, *args], input=stdin, capture_output=True, timeout=timeout, env=e)


def test_each_subcommand_lands_its_value():
    with Tallyd(unix={"ingest": None}) as d:
        assert tally(d, "count", "orders_placed_total", "--service", "order_executor", *ORDER).returncode == 0
        assert tally(d, "count", "orders_placed_total", "4", *ORDER, env={"TALLY_SERVICE": "order_executor"}).returncode == 0
        wait_until(lambda: d.value("order_executor", "orders_placed_total", order_type="limit", symbol="BTCUSDT",
                                   side="buy") == 5, what="count")
        # A <service>. prefix names the service; TCP and Unix targets work the same.
        p = tally(d, "gauge", "risk_manager.db_connections_total", "7", "--tcp", f"127.0.0.1:{d.tcp_port}")
        assert p.returncode == 0, p.stderr
        wait_until(lambda: d.value("risk_manager", "db_connections_total", service_name="risk_manager") == 7, what="gauge")
        p = tally(d, "gauge", "db_connections_total", "--service", "risk_manager", "--unix", d.unix_path("ingest"),
                  "--", "-2")
        assert p.returncode == 0, p.stderr
        wait_until(lambda: d.value("risk_manager", "db_connections_total", service_name="risk_manager") == 5,
                   what="a -2 adjustment")
        assert tally(d, "observe", "http_request_size_bytes", "512", "-t", "method=GET", "-t", "path=/x",
                     "--service", "api_gateway").returncode == 0
        wait_until(lambda: d.value("api_gateway", "http_request_size_bytes_sum", method="GET", path="/x") == 512,
                   what="observe")
        for member in ["ann", "bob", "ann"]:
            assert tally(d, "set", "active_users", member, "--service", "api_gateway").returncode == 0
        wait_until(lambda: d.value("api_gateway", "active_users") == 2, what="set")
        assert tally(d, "up", "alert_system").returncode == 0
        wait_until(lambda: d.value("alert_system", "service_up", service_name="alert_system") == 1, what="up")
        assert tally(d, "down", "alert_system").returncode == 0
        wait_until(lambda: d.value("alert_system", "service_up", service_name="alert_system") == 0, what="down")
        # Sample rate: tallyd scales by 1/rate.
        assert tally(d, "count", "jobs", "--service", "api_gateway", "--sample-rate", "0.5").returncode == 0
        wait_until(lambda: d.value("api_gateway", "jobs_total") == 2, what="a sampled count")


REFUSED = [
    (["gauge", "orders_placed_total", "3", "--service", "order_executor", *ORDER], "type_mismatch"),
    (["count", "orders_placed_total", "--service", "order_executor", "-t", "order_type=limit"], "missing_label"),
    (["count", "orders_placed_total", "-5", "--service", "order_executor", *ORDER], None),  # -5 is not an option
    (["count", "orders_placed_total", "--service", "order_executor", *ORDER, "--", "-5"], "invalid_value"),
    (["observe", "http_request_size_bytes", "NaN", "-t", "method=GET", "-t", "path=/x", "--service", "api_gateway"],
     "invalid_value"),
]


def test_what_tallyd_would_refuse_exits_2_with_its_reason_and_sends_nothing():
    with Tallyd() as d:
        before = {s: d.scrape(s) for s in d.services}
        received = d.received()
        for args, reason in REFUSED:
            p = tally(d, *args)
            assert p.returncode != 0, args
            if reason:
                assert p.returncode == 2, (args, p.stderr)
                assert f"({reason})" in p.stderr.decode() and "nothing sent" in p.stderr.decode(), p.stderr
        # Something that does land, so "nothing arrived" is not just slowness.
        assert tally(d, "count", "marker", "--service", "risk_manager").returncode == 0
        wait_until(lambda: d.value("risk_manager", "marker_total") == 1, what="the marker")
        # Exactly one line arrived (the marker): none of the refused ones was sent.
        assert d.received() == received + 1
        assert d.scrape("order_executor") == before["order_executor"]
        # --no-validate sends it anyway, and tallyd refuses it as predicted.
        assert tally(d, "gauge", "orders_placed_total", "3", "--service", "order_executor", *ORDER,
                     "--no-validate").returncode == 0
        wait_until(lambda: d.rejected("type_mismatch") == 1, what="the daemon's own refusal")


def test_a_bad_label_or_target_is_one_clear_line():
    with Tallyd(services=["risk_manager"]) as d:
        p = tally(d, "count", "x", "-t", "novalue", "--service", "risk_manager")
        assert p.returncode == 2 and b"expected key=value" in p.stderr, p.stderr
        p = tally(d, "count", "x", "--service", "risk_manager", "--tcp", "127.0.0.1:1")
        assert p.returncode == 1, p.stderr
        assert p.stderr.decode().count("\n") == 1 and "tcp:127.0.0.1:1" in p.stderr.decode(), p.stderr


def test_time_runs_the_command_untouched_and_observes_it():
    with Tallyd() as d:
        script = "import sys; data = sys.stdin.buffer.read(); sys.stdout.buffer.write(data[::-1]); " \
                 "sys.stderr.write('to stderr\\n'); sys.exit(3)"
        p = tally(d, "time", "job_seconds", "--service", "risk_manager", "--status-label", "status", "--",
                  sys.executable, "-c", script, stdin=b"\x00\x01binary\xff")
        assert p.returncode == 3
        assert p.stdout == b"\xff" + b"yranib" + b"\x01\x00"
        assert p.stderr == b"to stderr\n"
        wait_until(lambda: d.value("risk_manager", "job_seconds_count", status="3") == 1, what="the timing")
        took = d.value("risk_manager", "job_seconds_sum", status="3")
        assert 0 < took < 20


def test_time_reports_death_by_signal_and_forwards_signals():
    with Tallyd() as d:
        p = tally(d, "time", "job_seconds", "--service", "risk_manager", "--", "sh", "-c", "kill -KILL $$")
        assert p.returncode == 128 + 9
        # SIGTERM to tally reaches the command, which reports it and exits 7.
        e = {**os.environ, "TALLY_ADDR": f"127.0.0.1:{d.udp_port}"}
        proc = subprocess.Popen([TALLY, "time", "job_seconds", "--service", "risk_manager", "--", "sh", "-c",
                                 "trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done"],
                                stdout=subprocess.PIPE, env=e)
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 7
        assert proc.stdout.read() == b"got-term\n"
        wait_until(lambda: d.value("risk_manager", "job_seconds_count") == 2, what="both timings")


def test_time_keeps_the_status_when_metrics_fail():
    """An unreachable target or a line tallyd would refuse is a warning; the status stands."""
    e = {**os.environ, "TALLY_ADDR": "tcp:127.0.0.1:1"}
    start = time.monotonic()
    p = subprocess.run([TALLY, "time", "job_seconds", "--service", "x", "--", "sh", "-c", "exit 5"],
                       capture_output=True, env=e, timeout=30)
    assert p.returncode == 5 and b"tcp:127.0.0.1:1" in p.stderr, p.stderr
    assert time.monotonic() - start < 10
    p = subprocess.run([TALLY, "time", "orders_placed_total", "--", "true"], capture_output=True, env=e, timeout=30)
    assert p.returncode == 0 and b"warning" in p.stderr, p.stderr
    p = subprocess.run([TALLY, "time", "x", "--", "/no/such/command"], capture_output=True, env=e, timeout=30)
    assert p.returncode == 127 and b"cannot run /no/such/command" in p.stderr


def test_the_local_check_names_tallyds_reason_for_disagreeing_services():
    """service_name and --service naming two configured services: tallyd says service_mismatch,
    and so does the local check (it said unknown_service, as if one were not configured)."""
    with Tallyd() as d:
        p = tally(d, "count", "x", "-t", "service_name=order_executor", "--service", "risk_manager")
        assert p.returncode == 2 and b"(service_mismatch)" in p.stderr, p.stderr
        p = tally(d, "count", "x", "-t", "service_name=order_executor", "--service", "risk_manager", "--no-validate")
        assert p.returncode == 0
        wait_until(lambda: d.rejected("service_mismatch") == 1, what="tallyd's own reason")


def test_a_line_naming_no_service_is_sent_with_a_warning_that_says_why_tallyd_may_refuse_it():
    with Tallyd() as d:
        p = tally(d, "observe", "http_request_size_bytes", "512", "-t", "method=GET", "-t", "path=/x")
        assert p.returncode == 0
        err = p.stderr.decode()
        assert "names no service" in err and "no_service" in err and "default_service" in err, err
        wait_until(lambda: d.rejected("no_service") == 1, what="tallyd's no_service")
        # Named, it is silent and lands.
        p = tally(d, "observe", "http_request_size_bytes", "512", "-t", "method=GET", "-t", "path=/x",
                  "--service", "api_gateway")
        assert p.returncode == 0 and p.stderr == b"", p.stderr


def test_send_checks_every_line_sends_the_good_ones_and_exits_2_naming_the_refused():
    with Tallyd() as d:
        good = "orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:BTCUSDT,side:buy"
        p = tally(d, "send", "x:NaN|c", "foo bar:1|c", good)
        assert p.returncode == 2, p.stderr
        err = p.stderr.decode()
        assert "line 1 not sent" in err and "(invalid_value)" in err, err
        assert "line 2 not sent" in err and "(invalid_name)" in err, err
        assert "2 of 3 lines refused, 1 sent" in err, err
        wait_until(lambda: d.value("order_executor", "orders_placed_total", order_type="limit", symbol="BTCUSDT",
                                   side="buy") == 1, what="the good line")
        assert d.rejected("invalid_value") == 0 and d.rejected("invalid_name") == 0
        # From stdin the same; --no-validate sends all, and tallyd refuses what was predicted.
        p = tally(d, "send", "--no-validate", stdin=b"x:NaN|c\n" + good.encode() + b"\n")
        assert p.returncode == 0, p.stderr
        wait_until(lambda: d.rejected("invalid_value") == 1, what="tallyd's invalid_value")


def test_send_names_its_target_when_it_cannot_send_like_the_metric_commands():
    with Tallyd(services=["risk_manager"]) as d:
        p = tally(d, "send", "db_connections_total:7|g|#service:risk_manager", "--tcp", "127.0.0.1:1")
        assert p.returncode == 1
        err = p.stderr.decode()
        assert err.startswith("tally: cannot send to tcp:127.0.0.1:1") and err.count("\n") == 1, err


def test_help_for_no_such_subcommand_fails_and_a_negative_value_gets_a_hint():
    p = subprocess.run([TALLY, "help", "bogus"], capture_output=True, text=True, timeout=20)
    assert p.returncode == 64 and "no subcommand 'bogus'" in p.stderr, p.stderr
    assert subprocess.run([TALLY, "help", "count"], capture_output=True, timeout=20).returncode == 0
    p = subprocess.run([TALLY, "gauge", "x", "-2"], capture_output=True, text=True, timeout=20)
    assert p.returncode == 64
    assert "put it after --" in p.stderr and "-- -2" in p.stderr, p.stderr


def test_the_first_help_example_is_one_command_over_two_lines():
    out = subprocess.run([TALLY, "--help"], capture_output=True, text=True, timeout=20).stdout
    lines = out.splitlines()
    i = next(n for n, line in enumerate(lines) if "tally count orders_placed_total" in line)
    assert lines[i].rstrip().endswith("\\") and lines[i + 1].lstrip().startswith("-t order_type=limit"), lines[i:i + 2]
    assert "Not checked: whether tallyd's config has the service" in " ".join(out.split())
