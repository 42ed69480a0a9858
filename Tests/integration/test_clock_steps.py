"""A wall-clock step under a running tallyd (an NTP step, `date -s`) moves no interval: every
series and every service_up stays as it was after +2 h, and after -1 h a silent service still
goes down after heartbeat_timeout, a series still expires after its ttl and a set's window
still rolls. The step is an LD_PRELOAD shim (shims/wallshift.c, built here with the system's C
compiler) that adds the seconds in a file to CLOCK_REALTIME; the monotonic clock is untouched.
"""
import json
import os
import shutil
import subprocess
import time

import pytest
from tallykit import ROOT, Tallyd, http_get, wait_until

SHIM_SOURCE = os.path.join(ROOT, "Tests", "integration", "shims", "wallshift.c")
ORDER = "orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:BTCUSDT,side:buy"


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build the clock shim (Debian package gcc)")
    out = tmp_path_factory.mktemp("shim") / "wallshift.so"
    subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(out), SHIM_SOURCE, "-ldl"], check=True, timeout=60)
    return str(out)


def stepped(shim, tmp_path, extra_yaml):
    offset = tmp_path / "wall-offset"
    offset.write_text("0")
    d = Tallyd(services=["order_executor", "risk_manager"], extra_yaml=extra_yaml,
               env={"LD_PRELOAD": shim, "TALLY_WALL_OFFSET_FILE": str(offset)})
    return d, offset


def status_now(d):
    return json.loads(http_get(d.admin_port, "/api/v1/status")[2])["now"]


def up(d, service):
    return d.value(service, "service_up", service_name=service)


def order_count(d):
    return d.value("order_executor", "orders_placed_total", order_type="limit", symbol="BTCUSDT", side="buy")


def test_a_step_forward_of_two_hours_expires_nothing_and_downs_no_service(shim, tmp_path):
    d, offset = stepped(shim, tmp_path, "heartbeat_timeout: 20s\nlimits: {ttl: 30s}\n")
    with d:
        d.send(ORDER)
        wait_until(lambda: order_count(d) == 1, what="the counter")
        assert up(d, "order_executor") == 1
        before = status_now(d)
        offset.write_text("7200")
        # The shim reaches tallyd's wall clock: what it shows as "now" jumped by two hours.
        assert status_now(d) - before > 7190
        time.sleep(2.5)  # two expiry sweeps at once a second
        assert order_count(d) == 1, d.scrape("order_executor")
        assert up(d, "order_executor") == 1
        # The series still takes increments, and the exposition parses.
        d.send(ORDER)
        wait_until(lambda: order_count(d) == 2, what="the counter after the step")


def test_a_step_back_of_one_hour_still_downs_a_silent_service_and_expires_series_and_sets(shim, tmp_path):
    d, offset = stepped(shim, tmp_path, "heartbeat_timeout: 2s\nlimits: {ttl: 2s, set_window: 2s}\n")
    with d:
        d.send(ORDER)
        d.send("visitors:alice|s|#service:order_executor")
        d.send("visitors:bob|s|#service:order_executor")
        wait_until(lambda: order_count(d) == 1 and d.value("order_executor", "visitors") == 2, what="the lines")
        assert up(d, "order_executor") == 1
        offset.write_text("-3600")
        # Silent from here on: down after heartbeat_timeout, expired after ttl, the set's window rolled.
        wait_until(lambda: up(d, "order_executor") == 0, timeout=8, what="service_up 0 after 2 s of silence")
        wait_until(lambda: order_count(d) is None, timeout=8, what="the counter expired after its ttl")
        wait_until(lambda: not d.value("order_executor", "visitors"), timeout=8, what="the set's window rolled")
