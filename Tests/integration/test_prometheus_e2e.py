"""A real Prometheus (Debian's 2.42) scraping a real tallyd with all six services, fed by the
real datadog and statsd clients for each of the seed's 11 categories: every seed PromQL
expression (as fixed in config/prometheus) and every recording rule returns data, ServiceDown
fires for a service that went silent, and every target is healthy. Prometheus scrapes in
OpenMetrics (what it asks for first), and with exemplar storage on it serves the trace ids the
clients sent as exemplars from /api/v1/query_exemplars.

The shipped config and rules are used as they are, rewritten only for ports, intervals and
`for:` durations (seconds instead of minutes, so the test takes seconds)."""
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
import statsd
import yaml
from datadog.dogstatsd import DogStatsd
from tallykit import ROOT, Tallyd, free_port, wait_until

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is not installed (scripts/install-deps.sh test)")

SEED_QUERIES = [
    'service_up == 0',
    'time() - service_start_time',
    'sum by (service_name) (rate(http_requests_total{status=~"5.."}[5m])) > 0.01',
    'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))',
    'sum(rate(http_requests_total[5m])) by (service_name)',
    'histogram_quantile(0.99, sum by (le) (rate(db_query_duration_seconds_bucket[5m])))',
    'data_collector_health == 0',
    'rate(data_points_collected_total[5m])',
    'rate(data_collection_errors_total[5m])',
    'time() - data_collector_last_success_timestamp',
    'sum(rate(strategy_signals_total[1h])) by (strategy_id)',
    'sum(rate(orders_filled_total[5m])) / sum(rate(orders_placed_total[5m]))',
    'sum(portfolio_value_usd) by (user_id)',
    'sum(position_pnl_usd) by (symbol)',
    'sum(rate(redis_cache_hits_total[5m])) / (sum(rate(redis_cache_hits_total[5m])) + sum(rate(redis_cache_misses_total[5m])))',
    'sum(rate(redis_cache_hits_total[5m]) + rate(redis_cache_misses_total[5m]))',
    'ml_model_accuracy{model_name="lstm_transformer"}',
    'ml_model_drift_score > 0.1',
    'histogram_quantile(0.95, sum by (le) (rate(ml_model_prediction_duration_seconds_bucket[5m])))',
    'sum(rate(alert_delivery_success_total[5m])) / (sum(rate(alert_delivery_success_total[5m])) + sum(rate(alert_delivery_failures_total[5m])))',
    'sum(increase(alerts_triggered_total[1h])) by (alert_type)',
    'histogram_quantile(0.95, sum by (le) (rate(alert_delivery_duration_seconds_bucket[5m]))) > 5.0',
]


def traffic(d):
    """One round of every category, from the datadog client (tags) and the statsd client
    (prefix), for five services; api_gateway stays silent."""
    dd = DogStatsd(host="127.0.0.1", port=d.udp_port, disable_telemetry=True)
    for service, status in [("strategy_service", "200"), ("order_executor", "503")]:
        t = [f"service:{service}", "method:GET", "path:/api/v1/x", f"status:{status}"]
        for _ in range(20):
            dd.increment("http_requests_total", tags=t)
        dd.timing("http_request_duration_seconds", 40, tags=t[:3])
        dd.histogram("http_request_size_bytes", 512, tags=t[:3])
        dd.histogram("http_response_size_bytes", 2048, tags=t[:3])
    st = statsd.StatsClient("127.0.0.1", d.udp_port, prefix="risk_manager")
    st.gauge("db_connections_total", 7)
    st.gauge("service_up", 1)
    dd.timing("db_query_duration_seconds", 12, tags=["service:risk_manager", "query_type:select"])
    dd.increment("db_query_errors_total", tags=["service:risk_manager", "error_type:timeout"])
    dd.increment("rabbitmq_messages_published_total", tags=["service:order_executor", "exchange:signals"])
    dd.increment("rabbitmq_messages_consumed_total", tags=["service:strategy_service", "queue:market_data"])
    dd.timing("rabbitmq_message_processing_duration_seconds", 30, tags=["service:order_executor"])
    for _ in range(3):
        dd.increment("redis_cache_hits_total", tags=["service:strategy_service", "operation:get"])
    dd.increment("redis_cache_misses_total", tags=["service:strategy_service", "operation:get"])
    dd.timing("redis_operations_duration_seconds", 2, tags=["service:strategy_service", "operation:get"])
    md = ["service:market_data_service", "collector_name:binance", "source:binance"]
    dd.gauge("data_collector_health", 1, tags=md)
    dd.gauge("data_collector_health", 0, tags=["service:market_data_service", "collector_name:sentiment",
                                                "source:twitter"])
    dd.gauge("data_collector_last_success_timestamp", time.time(), tags=md)
    dd.increment("data_points_collected_total", 500, tags=md + ["data_type:klines"])
    dd.increment("data_collection_errors_total", tags=md + ["error_type:rate_limit"])
    dd.timing("data_collection_duration_seconds", 2500, tags=md)
    dd.increment("strategy_signals_total", tags=["service:strategy_service", "strategy_id:momentum_v1",
                                                  "symbol:BTCUSDT", "signal_type:buy"])
    oe = ["service:order_executor", "order_type:limit", "symbol:BTCUSDT"]
    for _ in range(2):
        dd.increment("orders_placed_total", tags=oe + ["side:buy"])
    dd.increment("orders_placed_total", tags=oe + ["side:sell", f"trace_id:{TRACE_ID}", f"span_id:{SPAN_ID}"])
    dd.increment("orders_filled_total", tags=oe)
    dd.increment("orders_cancelled_total", tags=["service:order_executor", "symbol:ETHUSDT", "reason:timeout"])
    dd.timing("order_execution_duration_seconds", 300, tags=["service:order_executor", "order_type:limit",
                                                             f"trace_id:{TRACE_ID}"])
    dd.gauge("active_positions_count", 3, tags=["service:order_executor", "strategy_id:momentum_v1"])
    dd.gauge("position_pnl_usd", 12.5, tags=["service:risk_manager", "position_id:pos_1", "symbol:BTCUSDT"])
    dd.gauge("position_pnl_usd", -3, tags=["service:risk_manager", "position_id:pos_2", "symbol:BTCUSDT"])
    dd.gauge("portfolio_value_usd", 100000, tags=["service:risk_manager", "user_id:user_1"])
    g = ["service:strategy_service", "goal_id:goal_1", "goal_type:daily_profit", "user_id:user_1"]
    dd.gauge("goal_progress_percentage", 75, tags=g)
    dd.gauge("goal_current_value", 750, tags=g)
    dd.gauge("goal_target_value", 1000, tags=g)
    dd.increment("goals_achieved_total", tags=["service:strategy_service", "goal_type:daily_profit", "user_id:user_1"])
    dd.increment("risk_limit_breaches_total", tags=["service:risk_manager", "user_id:user_1", "limit_type:max_drawdown"])
    dd.gauge("current_risk_exposure", 0.12, tags=["service:risk_manager", "user_id:user_1", "risk_type:var"])
    dd.gauge("drawdown_percentage", 4.5, tags=["service:risk_manager", "user_id:user_1"])
    ml = ["service:strategy_service", "model_name:lstm_transformer", "model_version:v1"]
    dd.increment("ml_model_predictions_total", tags=ml)
    dd.timing("ml_model_prediction_duration_seconds", 200, tags=ml[:2])
    dd.gauge("ml_model_accuracy", 0.85, tags=ml)
    dd.gauge("ml_model_drift_score", 0.2, tags=ml)
    dd.timing("ml_model_training_duration_seconds", 250000, tags=ml[:2])
    al = ["service:alert_system", "alert_type:price_alert"]
    dd.increment("alerts_triggered_total", tags=al + ["priority:high"])
    dd.increment("alert_delivery_success_total", tags=al + ["channel:email"])
    dd.increment("alert_delivery_failures_total", tags=al + ["channel:telegram", "error_type:timeout"])
    dd.timing("alert_delivery_duration_seconds", 8000, tags=["service:alert_system", "channel:email"])


TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"


def api(port, path, **params):
    url = f"http://127.0.0.1:{port}{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())["data"]


def test_prometheus_end_to_end(tmp_path):
    # A limit of one position per service, so the cardinality-limit panel has data too.
    with Tallyd(extra_yaml="heartbeat_timeout: 3s\nstate_interval: 1s\nlimits: {families: {position_pnl_usd: 1}}\n",
                args=["--state-file", str(tmp_path / "state")]) as d:
        prom_dir = tmp_path / "prometheus"
        shutil.copytree(os.path.join(ROOT, "config", "prometheus"), prom_dir)
        with open(prom_dir / "prometheus.yml") as f:
            config = yaml.safe_load(f)
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        for job in config["scrape_configs"]:
            if job["job_name"] == "tally-services":
                for c in job["static_configs"]:
                    c["targets"] = [f"127.0.0.1:{d.services[c['labels']['service_name']]}"]
            if job["job_name"] == "tallyd":
                job["static_configs"][0]["targets"] = [f"127.0.0.1:{d.admin_port}"]
        with open(prom_dir / "prometheus.yml", "w") as f:
            yaml.safe_dump(config, f)
        for name in ["alerts.yml", "recording.yml"]:
            path = prom_dir / "rules" / name
            path.write_text(re.sub(r"for: (\d+)m", r"for: \1s", path.read_text()).replace("interval: 30s", "interval: 1s"))
        port = free_port()
        log = open(tmp_path / "prometheus.log", "wb")
        prom = subprocess.Popen([PROMETHEUS, f"--config.file={prom_dir / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                                 "--enable-feature=exemplar-storage"],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: api(port, "/api/v1/targets")["activeTargets"], timeout=30, what="prometheus to start")
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                traffic(d)
                time.sleep(0.5)
            targets = api(port, "/api/v1/targets")["activeTargets"]
            assert len(targets) == 7 and all(t["health"] == "up" for t in targets), targets
            empty = []
            for query in SEED_QUERIES:
                if not wait_until(lambda: api(port, "/api/v1/query", query=query)["result"], timeout=20,
                                  what=query):
                    empty.append(query)
            assert not empty, empty
            with open(prom_dir / "rules" / "recording.yml") as f:
                records = [r["record"] for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
            for record in records:
                wait_until(lambda: api(port, "/api/v1/query", query=record)["result"], timeout=20, what=record)
            # Every dashboard panel's expression, the template variable as "All".
            from test_grafana_assets import panel_expressions
            panels = list(panel_expressions())
            assert len(panels) >= 30
            for dashboard, title, expr in panels:
                wait_until(lambda: api(port, "/api/v1/query", query=expr)["result"], timeout=20,
                           what=f"{dashboard} / {title}: {expr}")
            # Prometheus asked for OpenMetrics and got it: tallyd counted those scrapes...
            assert wait_until(lambda: api(port, "/api/v1/query",
                                          query='tally_scrapes_total{format="openmetrics"} > 0')["result"],
                              timeout=20, what="OpenMetrics scrapes")
            # ...and the exemplars came with them: the counter's and the histogram bucket's.
            def exemplars(query):
                now = time.time()
                data = api(port, "/api/v1/query_exemplars", query=query, start=now - 600, end=now + 60)
                return [(e["labels"], float(e["value"])) for series in data for e in series["exemplars"]]
            assert wait_until(lambda: exemplars("orders_placed_total"), timeout=20, what="the counter's exemplar")
            assert exemplars("orders_placed_total")[-1] == ({"trace_id": TRACE_ID, "span_id": SPAN_ID}, 1.0)
            assert wait_until(lambda: exemplars("order_execution_duration_seconds_bucket"), timeout=20,
                              what="the bucket's exemplar")
            assert exemplars("order_execution_duration_seconds_bucket")[-1] == ({"trace_id": TRACE_ID}, 0.3)
            # api_gateway never sent: down past heartbeat_timeout, and ServiceDown fires.
            def firing():
                alerts = api(port, "/api/v1/alerts")["alerts"]
                return [a for a in alerts if a["labels"]["alertname"] == "ServiceDown"
                        and a["labels"].get("service_name") == "api_gateway" and a["state"] == "firing"]
            assert wait_until(firing, timeout=30, what="ServiceDown for api_gateway")
        finally:
            prom.terminate()
            prom.wait(timeout=20)
            log.close()
