#!/usr/bin/env python3
"""Writes config/grafana/dashboards/*.json: the seed's four dashboards (every panel it lists)
and tallyd's own. Run it after changing a panel; the JSON is committed (a test checks its
structure, and the Prometheus end-to-end test runs every panel's expression)."""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DS = {"type": "prometheus", "uid": "${datasource}"}
SVC = 'service_name=~"$service_name"'


def panel(title, kind, unit, *exprs, legend=None, w=12, h=8, extra=None):
    p = {"title": title, "type": kind, "datasource": DS,
         "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
         "targets": [{"refId": chr(65 + i), "datasource": DS, "expr": e,
                      **({"legendFormat": legend[i]} if legend else {})} for i, e in enumerate(exprs)],
         "gridPos": {"w": w, "h": h}}
    if kind == "table":
        for t in p["targets"]:
            t["format"] = "table"
            t["instant"] = True
    p.update(extra or {})
    return p


def dashboard(uid, title, panels, service_var=True):
    x = y = 0
    for i, p in enumerate(panels):
        p["id"] = i + 1
        if x + p["gridPos"]["w"] > 24:
            x, y = 0, y + 8
        p["gridPos"].update({"x": x, "y": y})
        x += p["gridPos"]["w"]
    variables = [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source",
                  "current": {}, "hide": 0}]
    if service_var:
        variables.append({"name": "service_name", "type": "query", "datasource": DS, "label": "Service",
                          "query": {"query": "label_values(service_up, service_name)", "refId": "service_name"},
                          "definition": "label_values(service_up, service_name)", "includeAll": True,
                          "multi": True, "allValue": ".*", "current": {}, "refresh": 2, "hide": 0})
    return {"uid": uid, "title": title, "tags": ["tally", "mastertrade"], "schemaVersion": 38, "version": 1,
            "editable": True, "time": {"from": "now-6h", "to": "now"}, "refresh": "30s",
            "templating": {"list": variables}, "annotations": {"list": []}, "panels": panels}


DASHBOARDS = {
    "system-health": dashboard("tally-system-health", "MasterTrade System Health", [
        panel("Service uptime status", "stat", "none", f"service_up{{{SVC}}}", legend=["{{service_name}}"],
              extra={"options": {"colorMode": "background", "reduceOptions": {"calcs": ["lastNotNull"]}}}),
        panel("HTTP request rate", "timeseries", "reqps", f"service_name:http_requests:rate5m{{{SVC}}}",
              legend=["{{service_name}}"]),
        panel("Error rate per service", "timeseries", "percentunit",
              f"service_name:http_requests_errors:ratio_rate5m{{{SVC}}}", legend=["{{service_name}}"]),
        panel("Request latency P95/P99", "timeseries", "s",
              f"service_name:http_request_duration_seconds:p95_5m{{{SVC}}}",
              f"service_name:http_request_duration_seconds:p99_5m{{{SVC}}}",
              legend=["p95 {{service_name}}", "p99 {{service_name}}"]),
        panel("Database connections", "gauge", "none", f"db_connections_total{{{SVC}}}", legend=["{{service_name}}"]),
        panel("RabbitMQ message rate", "timeseries", "ops",
              f"service_name:rabbitmq_messages_published:rate5m{{{SVC}}}",
              f"sum by (service_name) (rate(rabbitmq_messages_consumed_total{{{SVC}}}[5m]))",
              legend=["published {{service_name}}", "consumed {{service_name}}"]),
    ]),
    "data-collection": dashboard("tally-data-collection", "MasterTrade Data Collection", [
        panel("Collector health status", "gauge", "bool_on_off", "data_collector_health",
              legend=["{{collector_name}} / {{source}}"]),
        panel("Data points collected/sec", "timeseries", "ops", "collector_name_source:data_points_collected:rate5m",
              legend=["{{collector_name}} / {{source}}"]),
        panel("Collection errors", "timeseries", "ops", "collector_name_source:data_collection_errors:rate5m",
              legend=["{{collector_name}} / {{source}}"]),
        panel("Time since last collection", "stat", "s", "time() - data_collector_last_success_timestamp",
              legend=["{{collector_name}} / {{source}}"]),
        panel("Collection duration P95", "timeseries", "s",
              "collector_name_source:data_collection_duration_seconds:p95_5m", legend=["{{collector_name}}"]),
    ], service_var=False),
    "trading-performance": dashboard("tally-trading-performance", "MasterTrade Trading Performance", [
        panel("Active positions count", "gauge", "none", "sum by (strategy_id) (active_positions_count)",
              legend=["{{strategy_id}}"]),
        panel("Order fill rate", "timeseries", "percentunit", ":orders:fill_ratio_rate5m", legend=["fill rate"]),
        panel("Portfolio value", "timeseries", "currencyUSD", "sum by (user_id) (portfolio_value_usd)",
              legend=["{{user_id}}"]),
        panel("Position P&L", "table", "currencyUSD", "sum by (symbol, position_id) (position_pnl_usd)"),
        panel("Signal generation rate", "timeseries", "ops", "strategy_id:strategy_signals:rate1h",
              legend=["{{strategy_id}}"]),
        panel("Goal progress", "bargauge", "percent", "goal_progress_percentage",
              legend=["{{goal_type}} {{goal_id}} ({{user_id}})"]),
    ], service_var=False),
    "ml-models": dashboard("tally-ml-models", "MasterTrade ML Models", [
        panel("Model accuracy", "gauge", "percentunit", "ml_model_accuracy", legend=["{{model_name}} {{model_version}}"]),
        panel("Drift score", "timeseries", "none", "ml_model_drift_score", legend=["{{model_name}} {{model_version}}"]),
        panel("Prediction rate", "timeseries", "ops", "model_name:ml_model_predictions:rate5m", legend=["{{model_name}}"]),
        panel("Prediction latency", "timeseries", "s", "model_name:ml_model_prediction_duration_seconds:p95_5m",
              legend=["p95 {{model_name}}"]),
        panel("Training duration", "stat", "s",
              "histogram_quantile(0.95, sum by (model_name, le) (rate(ml_model_training_duration_seconds_bucket[1h])))",
              legend=["p95 {{model_name}}"]),
    ], service_var=False),
    "tallyd": dashboard("tally-tallyd", "tallyd", [
        panel("Ingest rate by transport", "timeseries", "ops",
              "sum by (transport) (rate(tally_lines_received_total[5m]))", legend=["{{transport}}"]),
        panel("Refusals by reason", "timeseries", "ops",
              "sum by (reason) (rate(tally_lines_rejected_total[5m]))", legend=["{{reason}}"]),
        panel("Kernel receive drops", "timeseries", "ops", "rate(tally_udp_receive_drops_total[5m])",
              legend=["UDP {{port}}"]),
        panel("Series per service", "timeseries", "none", 'tally_series{service=~"$service_name"}',
              legend=["{{service}}"]),
        panel("Scrape duration p99", "timeseries", "s",
              'histogram_quantile(0.99, sum by (service, le) (rate(tally_scrape_duration_seconds_bucket{service=~"$service_name"}[5m])))',
              legend=["{{service}}"]),
        panel("Last reload", "stat", "bool_yes_no", "tally_config_last_reload_successful", legend=["applied"]),
        panel("Saved state age", "stat", "s", "time() - tally_state_last_save_timestamp_seconds", legend=["age"]),
        panel("Cardinality limit hits", "timeseries", "ops",
              'sum by (service, family) (rate(tally_cardinality_limited_total{service=~"$service_name"}[5m]))',
              legend=["{{service}} {{family}}"]),
    ]),
}

if __name__ == "__main__":
    for name, d in DASHBOARDS.items():
        path = os.path.join(ROOT, "config", "grafana", "dashboards", f"{name}.json")
        with open(path, "w") as f:
            json.dump(d, f, indent=2)
            f.write("\n")
        print("wrote", path)
