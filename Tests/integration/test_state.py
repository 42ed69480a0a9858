"""Saved state: counters and histograms survive a restart (SIGTERM, or a kill between saves)."""
import os
import signal

from tallykit import Tallyd, assert_valid_exposition, wait_until

TRAFFIC = ("orders_placed_total:3|c|#service:order_executor,order_type:limit,symbol:AAPL,side:buy\n"
           "order_execution_latency_seconds:120|ms|#service:order_executor,order_type:limit\n"
           "order_executor.jobs:5|c|#queue:a\n"
           "db_connections_total:7|g|#service:order_executor")


def placed(d):
    return d.value("order_executor", "orders_placed_total", order_type="limit", symbol="AAPL", side="buy")


def test_series_survive_a_restart_and_keep_counting(tmp_path):
    state = str(tmp_path / "state")
    with Tallyd(args=["--state-file", state]) as first:
        first.send(TRAFFIC)
        wait_until(lambda: placed(first) == 3, what="the first run to fold")
        wait_until(lambda: first.value("order_executor", "jobs_total", queue="a") == 5, what="the undocumented counter")
        before = first.scrape("order_executor")
    assert os.path.getsize(state) > 0

    with Tallyd(args=["--state-file", state]) as second:
        # Restored before the endpoints answer: the very first scrape has it.
        after = second.scrape("order_executor")
        assert_valid_exposition(after)
        def strip(t):
            return [line for line in t.splitlines()
                    if not line.startswith(("service_up", "service_start_time", "# HELP service_", "# TYPE service_"))]
        assert strip(after) == strip(before)
        assert "restored 4 series from" in second.output()
        assert second.admin_value("tally_state_restored_series") == 4
        second.send("orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:AAPL,side:buy")
        wait_until(lambda: placed(second) == 4, what="a restored counter to keep counting")


def test_a_killed_daemon_keeps_what_the_last_periodic_save_had(tmp_path):
    state = str(tmp_path / "state")
    d = Tallyd(args=["--state-file", state], extra_yaml="state_interval: 1s\n")
    d.start()
    try:
        d.send(TRAFFIC)
        wait_until(lambda: placed(d) == 3, what="the lines to fold")
        wait_until(lambda: os.path.exists(state) and os.path.getsize(state) > 200, timeout=5, what="a periodic save")
        mtime = os.path.getmtime(state)
        wait_until(lambda: os.path.getmtime(state) > mtime, timeout=5, what="a second periodic save")
        assert d.admin_value("tally_state_saves_total", result="ok") >= 2
        assert d.admin_value("tally_state_saves_total", result="error") == 0
        assert d.admin_value("tally_state_last_save_bytes") > 200
        assert d.admin_value("tally_state_last_save_timestamp_seconds") > 1.7e9
    finally:
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(timeout=5)
        d.log.close()
    with Tallyd(args=["--state-file", state]) as again:
        assert placed(again) == 3
    d.dir.cleanup()


def test_a_failing_save_is_counted_and_logged(tmp_path):
    # A directory that does not exist: the save fails even for root.
    state = tmp_path / "missing" / "state"
    with Tallyd(args=["--state-file", str(state)], extra_yaml="state_interval: 1s\n") as d:
        wait_until(lambda: d.admin_value("tally_state_saves_total", result="error") >= 1, timeout=5, what="a failed save")
        assert d.admin_value("tally_state_saves_total", result="ok") == 0
        # Present from the start with 0, so an alert on a stale timestamp fires for a daemon
        # that never saved (absent before, so such an alert could not fire).
        samples = d.samples(None)
        assert samples[("tally_state_last_save_timestamp_seconds", frozenset())] == 0
        assert samples[("tally_state_last_save_bytes", frozenset())] == 0
        assert "cannot save the state (periodic)" in d.output() and "missing/state.tmp: cannot create" in d.output()


def test_a_damaged_state_file_is_moved_aside_and_tallyd_starts_empty(tmp_path):
    state = tmp_path / "state"
    state.write_bytes(b"TALLYST1" + b"\xff" * 64)
    with Tallyd(args=["--state-file", str(state)]) as d:
        assert placed(d) is None
        assert "cannot restore the saved state" in d.output()
        assert (tmp_path / "state.corrupt").exists()
        d.send(TRAFFIC)
        wait_until(lambda: placed(d) == 3, what="a fresh start to work")
    # Stopping wrote a good state over the damaged one.
    with Tallyd(args=["--state-file", str(state)]) as d:
        assert placed(d) == 3
