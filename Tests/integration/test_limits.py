"""Sets, expiry and drop_labels through the real daemon and the real client libraries."""
import subprocess

import statsd
from datadog.dogstatsd import DogStatsd
from tallykit import TALLYD, Tallyd, assert_valid_exposition, wait_until


def test_sets_from_both_client_libraries_count_distinct_members():
    with Tallyd() as d:
        dd = DogStatsd(host="127.0.0.1", port=d.udp_port, disable_telemetry=True)
        for user in ["alice", "bob", "alice", "carol"]:
            dd.set("visitors", user, tags=["service_name:api_gateway", "page:home"])
        dd.flush()
        plain = statsd.StatsClient("127.0.0.1", d.udp_port, prefix="api_gateway")
        for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.1"]:
            plain.set("client_ips", ip)
        wait_until(lambda: d.value("api_gateway", "visitors", page="home") == 3, what="3 distinct visitors")
        wait_until(lambda: d.value("api_gateway", "client_ips") == 2, what="2 distinct client ips")
        text = d.scrape("api_gateway")
        assert "# TYPE visitors gauge" in text
        assert_valid_exposition(text)


def test_set_window_and_max_values_from_config():
    # A 3 s window: long enough that a slow machine still sends the third member inside it.
    with Tallyd(extra_yaml="limits:\n  set_window: 3s\n  set_max_values: 2\n") as d:
        d.send("api_gateway.visitors:a:b|s")
        wait_until(lambda: d.value("api_gateway", "visitors") == 2, what="2 members")
        d.send("api_gateway.visitors:c|s")
        wait_until(lambda: d.rejected("set_overflow") == 1, what="the third member refused as set_overflow")
        assert d.value("api_gateway", "visitors") == 2
        assert "set_max_values" in d.output()
        # After the window the members are forgotten and there is room again.
        wait_until(lambda: d.value("api_gateway", "visitors") == 0, timeout=10, what="the window to empty the set")
        d.send("api_gateway.visitors:c|s")
        wait_until(lambda: d.value("api_gateway", "visitors") == 1, what="a new member after the window")


def test_series_expire_after_their_ttl_but_service_gauges_stay():
    extra = "limits:\n  ttl: 1s\n  families:\n    orders_placed_total: {ttl: 0}\n"
    with Tallyd(extra_yaml=extra) as d:
        d.send("order_executor.jobs:1|c\n"
               "orders_placed_total:1|c|#service:order_executor,order_type:limit,side:buy,symbol:X\n"
               "service_info:1|g|#service:order_executor,version:1.2,environment:prod")
        wait_until(lambda: d.value("order_executor", "jobs_total") == 1, what="the series to appear")
        wait_until(lambda: d.value("order_executor", "jobs_total") is None, timeout=6, what="the ttl to remove it")
        assert d.admin_value("tally_series_expired_total") == 1
        text = d.scrape("order_executor")
        assert 'orders_placed_total{order_type="limit",symbol="X",side="buy"} 1' in text
        assert 'service_info{service_name="order_executor",version="1.2",environment="prod"} 1' in text
        assert d.admin_value("tally_series", service="order_executor") == 2
        # Sending again brings it back, from zero.
        d.send("order_executor.jobs:1|c")
        wait_until(lambda: d.value("order_executor", "jobs_total") == 1, what="the series to come back")


def test_drop_labels_aggregates_unique_ids_away():
    extra = "limits:\n  families:\n    position_pnl_usd: {max_series: 50, drop_labels: [position_id]}\n"
    with Tallyd(extra_yaml=extra) as d:
        for i in range(20):
            d.send(f"position_pnl_usd:+1|g|#service:risk_manager,position_id:P{i},symbol:AAPL")
        wait_until(lambda: d.value("risk_manager", "position_pnl_usd", symbol="AAPL") == 20,
                   what="20 positions folded into one series")
        text = d.scrape("risk_manager")
        assert 'position_id="' not in text
        assert "(position_id aggregated away by drop_labels)" in text
        assert d.admin_value("tally_series", service="risk_manager") == 1


def test_bad_drop_labels_stop_tallyd_with_the_reason(tmp_path):
    cfg = tmp_path / "tallyd.yaml"
    cfg.write_text("limits:\n  families:\n    position_pnl_usd: {drop_labels: [nope]}\n")
    r = subprocess.run([TALLYD, "--check-config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "'nope' is not a label of position_pnl_usd" in r.stderr + r.stdout
    cfg.write_text("limits:\n  families:\n    position_pnl_usd: {bogus: 1}\n")
    r = subprocess.run([TALLYD, "--check-config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "bogus" in r.stderr + r.stdout


def test_duplicate_tags_are_counted():
    with Tallyd() as d:
        d.send("api_gateway.jobs:1|c|#queue:a,queue:b")
        wait_until(lambda: d.value("api_gateway", "jobs_total", queue="b") == 1, what="the last tag to win")
        assert d.admin_value("tally_tags_duplicate_total") == 1
