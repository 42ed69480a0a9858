"""StatsD dialects and DogStatsD extras, sent by real clients and raw sockets."""
from datadog.dogstatsd import DogStatsd
from tallykit import Tallyd, assert_valid_exposition, http_get, wait_until


def test_influx_librato_signalfx_and_dogstatsd_tags_land_in_one_series():
    with Tallyd() as d:
        lines = [
            "orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:ETH,side:buy",
            "orders_placed_total,service=order_executor,order_type=limit,symbol=ETH,side=buy:1|c",
            "orders_placed_total#service=order_executor,order_type=limit,symbol=ETH,side=buy:1|c",
            "orders_placed_total[service=order_executor,order_type=limit,symbol=ETH,side=buy]:1|c",
        ]
        d.send("\n".join(lines))
        wait_until(lambda: d.value("order_executor", "orders_placed_total", order_type="limit", symbol="ETH", side="buy") == 4)
        d.send("orders_placed_total,order_type=limit:1|c|#service:order_executor,symbol:ETH,side:buy")
        wait_until(lambda: d.rejected("mixed_tag_styles") == 1)
        assert_valid_exposition(http_get(d.services["order_executor"])[2])


def test_datadog_client_events_service_checks_and_telemetry_are_skipped_and_counted():
    with Tallyd() as d:
        # The datadog client sends its own telemetry (datadog.dogstatsd.client.*) by default.
        client = DogStatsd(host="127.0.0.1", port=d.udp_port, disable_telemetry=False, telemetry_min_flush_interval=0)
        client.event("deploy", "v1.2 rolled out", tags=["service:api_gateway"])
        client.service_check("db.can_connect", DogStatsd.OK, tags=["service:api_gateway"])
        client.gauge("cache_hit_rate", 0.9, tags=["service:api_gateway", "cache_type:redis"])
        client.flush()
        client.close_socket()
        wait_until(lambda: d.admin_value("tally_lines_skipped_total", kind="event") == 1
                   and d.admin_value("tally_lines_skipped_total", kind="service_check") == 1,
                   what="the event and the service check to be counted as skipped")
        wait_until(lambda: d.value("api_gateway", "cache_hit_rate", cache_type="redis") == 0.9)
        assert d.rejected("malformed_line") == 0
        wait_until(lambda: d.admin_value("tally_lines_skipped_total", kind="client_telemetry") >= 1,
                   what="the client's own telemetry to be skipped")
        text = http_get(d.services["api_gateway"])[2]
        assert "datadog_dogstatsd_client" not in text
        assert_valid_exposition(d.admin())


def test_cardinality_limit_refuses_new_series_and_logs_the_busiest_label():
    with Tallyd(extra_yaml="limits:\n  max_series_per_family: 5\n") as d:
        for i in range(8):
            d.send(f"position_pnl_usd:{i}|g|#service:risk_manager,position_id:P{i},symbol:BTC")
        wait_until(lambda: d.rejected("cardinality_limit") == 3)
        out = d.output()
        assert "cardinality_limit" in out and "position_pnl_usd" in out, out
        assert "label 'position_id' has the most distinct values (5)" in out, out
        d.send("position_pnl_usd:42|g|#service:risk_manager,position_id:P0,symbol:BTC")
        wait_until(lambda: d.value("risk_manager", "position_pnl_usd", position_id="P0", symbol="BTC") == 42)
