"""Every documented category, sent through real StatsD clients, served on the right port."""
import statsd
from datadog.dogstatsd import DogStatsd
from tallykit import assert_valid_exposition, catalogue_families, lines_for_all_families, wait_until


def dogstatsd(d):
    return DogStatsd(host="127.0.0.1", port=d.udp_port, disable_telemetry=True)


def plain(d, service):
    return statsd.StatsClient("127.0.0.1", d.udp_port, prefix=service)


def settle(d, lines):
    d.wait_received(lines)


def check(d, service, expected):
    """expected: list of (sample name, labels dict, value)."""
    text = d.scrape(service)
    assert_valid_exposition(text)
    samples = d.samples(service, text=text)
    for name, labels, value in expected:
        got = samples.get((name, frozenset(labels.items())))
        assert got == value or (got is not None and abs(got - value) < 1e-9), \
            f"{name}{labels}: expected {value}, got {got}\n{text}"
    assert d.rejected("missing_label") == 0
    return text


def test_http(tallyd):
    c = dogstatsd(tallyd)
    tags = ["service:api_gateway", "method:GET", "path:/api/v1/strategies"]
    for _ in range(3):
        c.increment("http_requests_total", tags=tags + ["status:200"])
    c.increment("http_requests", tags=tags + ["status:500"])  # without _total
    c.timing("http_request_duration_seconds", 120, tags=["service:api_gateway", "method:POST", "path:/api/v1/orders"])
    c.histogram("http_request_size_bytes", 512, tags=["service:api_gateway", "method:POST", "path:/api/v1/signals"])
    c.distribution("http_response_size_bytes", 2048, tags=["service:api_gateway", "method:GET", "path:/api/v1/positions"])
    settle(tallyd, 7)
    post = {"method": "POST", "path": "/api/v1/orders"}
    check(tallyd, "api_gateway", [
        ("http_requests_total", {"method": "GET", "path": "/api/v1/strategies", "status": "200"}, 3),
        ("http_requests_total", {"method": "GET", "path": "/api/v1/strategies", "status": "500"}, 1),
        ("http_request_duration_seconds_bucket", {**post, "le": "0.1"}, 0),
        ("http_request_duration_seconds_bucket", {**post, "le": "0.25"}, 1),
        ("http_request_duration_seconds_bucket", {**post, "le": "+Inf"}, 1),
        ("http_request_duration_seconds_sum", post, 0.12),
        ("http_request_duration_seconds_count", post, 1),
        ("http_request_size_bytes_sum", {"method": "POST", "path": "/api/v1/signals"}, 512),
        ("http_request_size_bytes_count", {"method": "POST", "path": "/api/v1/signals"}, 1),
        ("http_response_size_bytes_sum", {"method": "GET", "path": "/api/v1/positions"}, 2048),
    ])


def test_service_health(tallyd):
    svc = {"service_name": "strategy_service"}
    assert tallyd.value("strategy_service", "service_up", **svc) == 0
    c = dogstatsd(tallyd)
    c.gauge("service_info", 1, tags=["service_name:strategy_service", "version:2.0.0", "environment:production"])
    settle(tallyd, 1)
    text = check(tallyd, "strategy_service", [
        ("service_up", svc, 1),
        ("service_info", {**svc, "version": "2.0.0", "environment": "production"}, 1),
    ])
    assert tallyd.value("strategy_service", "service_start_time", **svc) > 1.7e9
    assert "service_up" in text
    c.gauge("service_up", 0, tags=["service_name:strategy_service"])  # mark_service_down
    settle(tallyd, 2)
    assert tallyd.value("strategy_service", "service_up", **svc) == 0
    # Every other service is down: it never sent anything.
    assert tallyd.value("risk_manager", "service_up", service_name="risk_manager") == 0


def test_database(tallyd):
    plain(tallyd, "risk_manager").gauge("db_connections_total", 7)
    c = dogstatsd(tallyd)
    c.timing("db_query_duration_seconds", 3, tags=["service_name:risk_manager", "query_type:select"])
    c.increment("db_query_errors_total", tags=["service:risk_manager", "error_type:timeout"])
    settle(tallyd, 3)
    q = {"service_name": "risk_manager", "query_type": "select"}
    check(tallyd, "risk_manager", [
        ("db_connections_total", {"service_name": "risk_manager"}, 7),
        ("db_query_duration_seconds_bucket", {**q, "le": "0.001"}, 0),
        ("db_query_duration_seconds_bucket", {**q, "le": "0.005"}, 1),
        ("db_query_duration_seconds_sum", q, 0.003),
        ("db_query_errors_total", {"service_name": "risk_manager", "error_type": "timeout"}, 1),
    ])


def test_rabbitmq(tallyd):
    c = dogstatsd(tallyd)
    c.increment("rabbitmq_messages_published_total", 4, tags=["service:order_executor", "exchange:trading_signals"])
    c.increment("rabbitmq_messages_consumed_total", tags=["service:order_executor", "queue:market_data"])
    plain(tallyd, "order_executor").timing("rabbitmq_message_processing_duration_seconds", 30)
    settle(tallyd, 3)
    s = {"service_name": "order_executor"}
    check(tallyd, "order_executor", [
        ("rabbitmq_messages_published_total", {**s, "exchange": "trading_signals"}, 4),
        ("rabbitmq_messages_consumed_total", {**s, "queue": "market_data"}, 1),
        ("rabbitmq_message_processing_duration_seconds_bucket", {**s, "le": "0.01"}, 0),
        ("rabbitmq_message_processing_duration_seconds_bucket", {**s, "le": "0.05"}, 1),
        ("rabbitmq_message_processing_duration_seconds_count", s, 1),
    ])


def test_redis(tallyd):
    c = dogstatsd(tallyd)
    tags = ["service:strategy_service", "operation:get"]
    c.increment("redis_cache_hits_total", 9, tags=tags)
    c.increment("redis_cache_misses_total", tags=tags)
    c.timing("redis_operations_duration_seconds", 2, tags=["service:strategy_service", "operation:set"])
    settle(tallyd, 3)
    s = {"service_name": "strategy_service"}
    check(tallyd, "strategy_service", [
        ("redis_cache_hits_total", {**s, "operation": "get"}, 9),
        ("redis_cache_misses_total", {**s, "operation": "get"}, 1),
        ("redis_operations_duration_seconds_bucket", {**s, "operation": "set", "le": "0.005"}, 1),
        ("redis_operations_duration_seconds_bucket", {**s, "operation": "set", "le": "0.001"}, 0),
    ])


def test_data_collection(tallyd):
    c = dogstatsd(tallyd)
    b = ["service:market_data_service", "collector_name:binance", "source:binance"]
    c.gauge("data_collector_health", 1, tags=b)
    c.gauge("data_collector_last_success_timestamp", 1767225600, tags=b)
    c.increment("data_points_collected_total", 500, tags=b + ["data_type:klines"])
    c.increment("data_collection_errors_total", tags=["service:market_data_service", "collector_name:sentiment",
                                                      "source:twitter", "error_type:rate_limit"])
    c.timing("data_collection_duration_seconds", 2500, tags=["service:market_data_service", "collector_name:historical", "source:binance"])
    settle(tallyd, 5)
    k = {"collector_name": "binance", "source": "binance"}
    h = {"collector_name": "historical", "source": "binance"}
    check(tallyd, "market_data_service", [
        ("data_collector_health", k, 1),
        ("data_collector_last_success_timestamp", k, 1767225600),
        ("data_points_collected_total", {**k, "data_type": "klines"}, 500),
        ("data_collection_errors_total", {"collector_name": "sentiment", "source": "twitter", "error_type": "rate_limit"}, 1),
        ("data_collection_duration_seconds_bucket", {**h, "le": "1.0"}, 0),
        ("data_collection_duration_seconds_bucket", {**h, "le": "5.0"}, 1),
        ("data_collection_duration_seconds_sum", h, 2.5),
    ])


def test_trading(tallyd):
    c = dogstatsd(tallyd)
    c.increment("strategy_signals_total", tags=["service:strategy_service", "strategy_id:momentum_v1", "symbol:BTCUSDT", "signal_type:buy"])
    c.gauge("active_positions_count", 3, tags=["service:strategy_service", "strategy_id:momentum_v1"])
    c.gauge("position_pnl_usd", -125.5, tags=["service:strategy_service", "position_id:pos_123", "symbol:BTCUSDT"])
    c.gauge("portfolio_value_usd", 100250.75, tags=["service:strategy_service", "user_id:user_1"])
    # order_executor uses the name prefix instead of a tag
    c.increment("order_executor.orders_placed_total", tags=["order_type:limit", "symbol:ETHUSDT", "side:buy"])
    c.increment("order_executor.orders_filled_total", tags=["order_type:limit", "symbol:BTCUSDT"])
    c.increment("order_executor.orders_cancelled_total", tags=["symbol:ETHUSDT", "reason:timeout"])
    c.timing("order_executor.order_execution_duration_seconds", 400, tags=["order_type:market"])
    settle(tallyd, 8)
    check(tallyd, "strategy_service", [
        ("strategy_signals_total", {"strategy_id": "momentum_v1", "symbol": "BTCUSDT", "signal_type": "buy"}, 1),
        ("active_positions_count", {"strategy_id": "momentum_v1"}, 3),
        ("position_pnl_usd", {"position_id": "pos_123", "symbol": "BTCUSDT"}, -125.5),
        ("portfolio_value_usd", {"user_id": "user_1"}, 100250.75),
    ])
    check(tallyd, "order_executor", [
        ("orders_placed_total", {"order_type": "limit", "symbol": "ETHUSDT", "side": "buy"}, 1),
        ("orders_filled_total", {"order_type": "limit", "symbol": "BTCUSDT"}, 1),
        ("orders_cancelled_total", {"symbol": "ETHUSDT", "reason": "timeout"}, 1),
        ("order_execution_duration_seconds_bucket", {"order_type": "market", "le": "0.1"}, 0),
        ("order_execution_duration_seconds_bucket", {"order_type": "market", "le": "0.5"}, 1),
    ])
    assert "orders_placed_total" not in tallyd.scrape("strategy_service")


def test_goals(tallyd):
    c = dogstatsd(tallyd)
    g = ["service:api_gateway", "goal_id:goal_1", "goal_type:daily_profit", "user_id:user_1"]
    c.gauge("goal_progress_percentage", 75, tags=g)
    c.gauge("goal_current_value", 750, tags=g)
    c.gauge("goal_target_value", 1000, tags=g)
    c.increment("goals_achieved_total", tags=["service:api_gateway", "goal_type:daily_profit", "user_id:user_1"])
    settle(tallyd, 4)
    k = {"goal_id": "goal_1", "goal_type": "daily_profit", "user_id": "user_1"}
    check(tallyd, "api_gateway", [
        ("goal_progress_percentage", k, 75), ("goal_current_value", k, 750), ("goal_target_value", k, 1000),
        ("goals_achieved_total", {"goal_type": "daily_profit", "user_id": "user_1"}, 1),
    ])


def test_risk(tallyd):
    c = dogstatsd(tallyd)
    c.increment("risk_limit_breaches_total", tags=["service:risk_manager", "user_id:user_1", "limit_type:max_drawdown"])
    c.gauge("current_risk_exposure", 0.37, tags=["service:risk_manager", "user_id:user_1", "risk_type:portfolio_var"])
    c.gauge("drawdown_percentage", 4.2, tags=["service:risk_manager", "user_id:user_1"])
    settle(tallyd, 3)
    check(tallyd, "risk_manager", [
        ("risk_limit_breaches_total", {"user_id": "user_1", "limit_type": "max_drawdown"}, 1),
        ("current_risk_exposure", {"user_id": "user_1", "risk_type": "portfolio_var"}, 0.37),
        ("drawdown_percentage", {"user_id": "user_1"}, 4.2),
    ])


def test_ml(tallyd):
    c = dogstatsd(tallyd)
    m = ["service:strategy_service", "model_name:lstm_transformer"]
    c.increment("ml_model_predictions_total", 10, tags=m + ["model_version:v1"])
    c.timing("ml_model_prediction_duration_seconds", 80, tags=m)
    c.gauge("ml_model_accuracy", 0.85, tags=m + ["model_version:v1"])
    c.gauge("ml_model_drift_score", 0.02, tags=m + ["model_version:v1"])
    c.timing("ml_model_training_duration_seconds", 90_000, tags=m)
    settle(tallyd, 5)
    k = {"model_name": "lstm_transformer"}
    v = {**k, "model_version": "v1"}
    text = check(tallyd, "strategy_service", [
        ("ml_model_predictions_total", v, 10), ("ml_model_accuracy", v, 0.85), ("ml_model_drift_score", v, 0.02),
        ("ml_model_prediction_duration_seconds_bucket", {**k, "le": "0.05"}, 0),
        ("ml_model_prediction_duration_seconds_bucket", {**k, "le": "0.1"}, 1),
        ("ml_model_training_duration_seconds_bucket", {**k, "le": "60.0"}, 0),
        ("ml_model_training_duration_seconds_bucket", {**k, "le": "120.0"}, 1),
        ("ml_model_training_duration_seconds_sum", k, 90),
    ])
    assert 'ml_model_training_duration_seconds_bucket{model_name="lstm_transformer",le="1800.0"}' in text


def test_alerts(tallyd):
    c = dogstatsd(tallyd)
    c.increment("alerts_triggered_total", tags=["service:alert_system", "alert_type:price_alert", "priority:high"])
    c.increment("alert_delivery_success_total", tags=["service:alert_system", "channel:email", "alert_type:risk_breach"])
    c.increment("alert_delivery_failures_total", tags=["service:alert_system", "channel:telegram", "alert_type:performance", "error_type:timeout"])
    c.timing("alert_delivery_duration_seconds", 1200, tags=["service:alert_system", "channel:slack"])
    settle(tallyd, 4)
    check(tallyd, "alert_system", [
        ("alerts_triggered_total", {"alert_type": "price_alert", "priority": "high"}, 1),
        ("alert_delivery_success_total", {"channel": "email", "alert_type": "risk_breach"}, 1),
        ("alert_delivery_failures_total", {"channel": "telegram", "alert_type": "performance", "error_type": "timeout"}, 1),
        ("alert_delivery_duration_seconds_bucket", {"channel": "slack", "le": "1.0"}, 0),
        ("alert_delivery_duration_seconds_bucket", {"channel": "slack", "le": "2.0"}, 1),
        ("alert_delivery_duration_seconds_sum", {"channel": "slack"}, 1.2),
    ])


def test_every_documented_family_is_served(tallyd):
    """All 45 families at once on one service; the exposition parses and lists each family."""
    lines = lines_for_all_families("risk_manager")
    for i in range(0, len(lines), 10):
        tallyd.send("\n".join(lines[i:i + 10]))
    tallyd.wait_received(len(lines))
    text = tallyd.scrape("risk_manager")
    families = {f.name for f in assert_valid_exposition(text)}
    for fam in catalogue_families():
        name, kind = fam["name"], fam["type"]
        base = name[:-6] if kind == "counter" else name
        assert base in families, f"{name} missing from the exposition"
    assert tallyd.rejected("missing_label") == 0 and tallyd.rejected("type_mismatch") == 0
    wait_until(lambda: tallyd.admin_value("tally_lines_accepted_total", transport="udp") == len(lines), timeout=5)
