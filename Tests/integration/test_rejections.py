"""Bad input: counted by reason, logged (rate-limited), never harming other lines or the format."""
import re

import pytest
from tallykit import Tallyd, assert_valid_exposition, wait_until

GOOD = "orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:BTCUSDT,side:buy"

CASES = [
    ("garbage_without_colon", "malformed_line"),
    ("name:1", "malformed_line"),
    ("orders placed:1|c|#service:order_executor", "invalid_name"),
    ("x" * 201 + ":1|c|#service:order_executor", "name_too_long"),
    ("orders_placed_total:NaN|c|#service:order_executor,order_type:limit,symbol:B,side:buy", "invalid_value"),
    ("orders_placed_total:-5|c|#service:order_executor,order_type:limit,symbol:B,side:buy", "invalid_value"),
    ("orders_placed_total:0x1F|c|#service:order_executor,order_type:limit,symbol:B,side:buy", "invalid_value"),
    ("orders_placed_total:1|c|@0|#service:order_executor,order_type:limit,symbol:B,side:buy", "invalid_sample_rate"),
    ("orders_placed_total:1|c|@2|#service:order_executor,order_type:limit,symbol:B,side:buy", "invalid_sample_rate"),
    ("orders_placed_total:1|q|#service:order_executor", "unknown_type"),
    ("orders_placed_total:1|c|#order_type:limit,symbol:B,side:buy", "no_service"),
    ("orders_placed_total:1|c|#service:nobody,order_type:limit,symbol:B,side:buy", "unknown_service"),
    ("order_executor.orders_placed_total:1|c|#service:risk_manager,order_type:limit,symbol:B,side:buy", "service_mismatch"),
    ("orders_placed_total:1|c|#service:risk_manager,service:order_executor,order_type:limit,symbol:B,side:buy",
     "service_mismatch"),  # a duplicated identity tag naming two services is refused, not last-wins
    ("orders_placed_total:1|g|#service:order_executor,order_type:limit,symbol:B,side:buy", "type_mismatch"),
    ("http_request_size_bytes:12|ms|#service:order_executor,method:GET,path:/", "unit_mismatch"),
    ("orders_placed_total:1|c|#service:order_executor,order_type:limit", "missing_label"),
    ("order_executor.free:1|c|#bad!tag:1", "invalid_label_name"),
    ("order_executor.http_request_duration_seconds_bucket:1|g", "name_conflict"),
    (b"orders_placed_total:1|c|#service:order_executor,order_type:\xff,symbol:B,side:buy", "invalid_utf8"),
    (b"orders_placed_total:1|c|#service:order_executor,order_type:a\x00b,symbol:B,side:buy", "invalid_utf8"),
]


@pytest.mark.parametrize("line,reason", CASES, ids=[r for _, r in CASES])
def test_each_reason_is_counted(tallyd, line, reason):
    before = tallyd.rejected(reason)
    tallyd.send(line)
    wait_until(lambda: tallyd.rejected(reason) == before + 1, timeout=5, what=f"{reason} counted")
    assert tallyd.admin_value("tally_lines_accepted_total", transport="udp") == 0
    # The log names the reason and the line.
    wait_until(lambda: f"rejected line ({reason})" in tallyd.output(), timeout=5, what="the log line")


def test_packet_mixing_good_and_bad_lines(tallyd):
    packet = "\n".join([GOOD, "bad", GOOD + "\r", "x:NaN|c|#service:order_executor", "", GOOD, "a:1|zz"]) + "\n"
    tallyd.send(packet)
    tallyd.wait_received(6)
    assert tallyd.value("order_executor", "orders_placed_total", order_type="limit", symbol="BTCUSDT", side="buy") == 3
    assert tallyd.admin_value("tally_lines_accepted_total", transport="udp") == 3
    assert tallyd.rejected("malformed_line") == 1
    assert tallyd.rejected("invalid_value") == 1
    assert tallyd.rejected("unknown_type") == 1


def test_undocumented_tags_are_dropped_and_counted(tallyd):
    tallyd.send(GOOD + ",env:prod,host:web-1")
    tallyd.wait_received(1)
    assert tallyd.value("order_executor", "orders_placed_total", order_type="limit", symbol="BTCUSDT", side="buy") == 1
    assert tallyd.admin_value("tally_tags_dropped_total", family="orders_placed_total", tag="env") == 1
    assert tallyd.admin_value("tally_tags_dropped_total", family="orders_placed_total", tag="host") == 1
    assert "env=" not in tallyd.scrape("order_executor")


HOSTILE = ['quote"inside', "back\\slash", "new\\nline", "}{=:x", "ünïcödé ✓ 𝄞", "a" * 300, "#hash", "sp ace", "tab\tin"]


def test_hostile_label_values_keep_the_exposition_valid(tallyd):
    for i, v in enumerate(HOSTILE):
        # ',' and '|' end a tag, so hostile values are everything else
        tallyd.send(f"position_pnl_usd:{i}|g|#service:risk_manager,position_id:{v},symbol:S")
    tallyd.wait_received(len(HOSTILE))
    text = tallyd.scrape("risk_manager")
    families = assert_valid_exposition(text)
    got = {s.labels["position_id"]: s.value for f in families if f.name == "position_pnl_usd" for s in f.samples}
    assert got == {v: i for i, v in enumerate(HOSTILE)}


def test_rejection_log_is_rate_limited():
    with Tallyd() as d:
        for _ in range(200):
            d.send("x:1|q")
        d.wait_received(200)
        wait_until(lambda: d.rejected("unknown_type") == 200, timeout=5)
        logged = len(re.findall(r"rejected line \(unknown_type\)", d.output()))
        assert 1 <= logged <= 3, f"{logged} log lines for 200 rejections within about a second"


def test_unknown_families_reject_policy():
    with Tallyd(extra_yaml="unknown_families: reject\n") as d:
        d.send("order_executor.not_in_catalogue:1|c")
        d.send(GOOD)
        d.wait_received(2)
        wait_until(lambda: d.rejected("unknown_family") == 1, timeout=5)
        assert "not_in_catalogue" not in d.scrape("order_executor")
        assert d.value("order_executor", "orders_placed_total", order_type="limit", symbol="BTCUSDT", side="buy") == 1


def test_unknown_families_accept_with_prometheus_names(tallyd):
    tallyd.send("\n".join([
        "api_gateway.cache.evictions:3|c|#region:eu",
        "api_gateway.queue-depth:12|g",
        "api_gateway.upstream.latency:250|ms|#upstream:auth",
        "api_gateway.payload_size:100|h",
    ]))
    tallyd.wait_received(4)
    text = tallyd.scrape("api_gateway")
    assert_valid_exposition(text)
    assert tallyd.value("api_gateway", "cache_evictions_total", region="eu") == 3
    assert tallyd.value("api_gateway", "queue_depth") == 12
    assert tallyd.value("api_gateway", "upstream_latency_seconds_sum", upstream="auth") == 0.25
    assert tallyd.value("api_gateway", "payload_size_count") == 1
    tallyd.send("api_gateway.queue-depth:1|c")
    wait_until(lambda: tallyd.rejected("type_mismatch") == 1, timeout=5)


def test_default_service():
    with Tallyd(extra_yaml="default_service: alert_system\n") as d:
        d.send("alerts_triggered_total:1|c|#alert_type:price_alert,priority:high")
        d.wait_received(1)
        assert d.value("alert_system", "alerts_triggered_total", alert_type="price_alert", priority="high") == 1


def test_sample_rates(tallyd):
    tallyd.send("\n".join([
        "orders_placed_total:1|c|@0.1|#service:order_executor,order_type:limit,symbol:BTCUSDT,side:buy",
        "order_execution_duration_seconds:200|ms|@0.25|#service:order_executor,order_type:market",
    ]))
    tallyd.wait_received(2)
    assert tallyd.value("order_executor", "orders_placed_total", order_type="limit", symbol="BTCUSDT", side="buy") == pytest.approx(10)
    assert tallyd.value("order_executor", "order_execution_duration_seconds_count", order_type="market") == 4
    assert tallyd.value("order_executor", "order_execution_duration_seconds_sum", order_type="market") == pytest.approx(0.8)


ORDER_CASES = [
    # line, its reason (what is wrong with the line itself comes before its service)
    ("x:1|c|#bad!tag:1", "invalid_label_name"),
    ("y:1|c|#le:1", "invalid_label_name"),
    ("http_request_duration_seconds_bucket:1|g", "name_conflict"),
    ("http_request_duration_seconds_bucket:1|g|#service:nobody", "name_conflict"),
]


@pytest.mark.parametrize("line,reason", ORDER_CASES, ids=[line for line, _ in ORDER_CASES])
def test_the_refusal_reason_does_not_depend_on_which_lines_came_first(line, reason):
    """On a fresh daemon with no default_service these were no_service (or unknown_service);
    once the family existed, the same line was refused for what is wrong with it."""
    with Tallyd() as d:
        d.send(line)
        wait_until(lambda: sum(d.rejected(r) for r in ["no_service", "unknown_service", reason]) == 1,
                   what="the refusal")
        assert d.rejected(reason) == 1, d.output()
        # Now with the family made by a good line of the same name: the same reason.
        name = line.split(":")[0]
        if reason == "invalid_label_name":
            d.send(f"order_executor.{name}:1|c")
            wait_until(lambda: d.admin_value("tally_lines_accepted_total", transport="udp") == 1, what="made")
            d.send(line)
            wait_until(lambda: d.rejected(reason) == 2, what="the same reason again")
        assert d.rejected("no_service") == 0 and d.rejected("unknown_service") == 0
