"""config/grafana: the dashboards' structure (Grafana JSON models) and their provisioning; the
Prometheus end-to-end test runs every panel's expression."""
import glob
import importlib.util
import json
import os

import yaml
from tallykit import ROOT

GRAFANA = os.path.join(ROOT, "config", "grafana")

SEED_PANELS = {
    "MasterTrade System Health": ["Service uptime status", "HTTP request rate", "Error rate per service",
                                  "Request latency P95/P99", "Database connections", "RabbitMQ message rate"],
    "MasterTrade Data Collection": ["Collector health status", "Data points collected/sec", "Collection errors",
                                    "Time since last collection", "Collection duration P95"],
    "MasterTrade Trading Performance": ["Active positions count", "Order fill rate", "Portfolio value",
                                        "Position P&L", "Signal generation rate", "Goal progress"],
    "MasterTrade ML Models": ["Model accuracy", "Drift score", "Prediction rate", "Prediction latency",
                              "Training duration"],
    "tallyd": ["Ingest rate by transport", "Refusals by reason", "Kernel receive drops", "Series per service",
               "Scrape duration p99", "Last reload", "Saved state age"],
}


def dashboards():
    out = {}
    for path in sorted(glob.glob(os.path.join(GRAFANA, "dashboards", "*.json"))):
        with open(path) as f:
            out[path] = json.load(f)
    return out


def panel_expressions():
    """(dashboard, panel, expression with the template variables filled in) of every panel."""
    for d in dashboards().values():
        for p in d["panels"]:
            for t in p["targets"]:
                yield d["title"], p["title"], t["expr"].replace("$service_name", ".*")


def test_every_seed_panel_is_there_with_a_datasource_variable_and_a_unit():
    seen = {}
    for path, d in dashboards().items():
        assert d["schemaVersion"] >= 36, path
        variables = {v["name"]: v for v in d["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
        uses_service = any("$service_name" in t["expr"] for p in d["panels"] for t in p["targets"])
        assert uses_service == ("service_name" in variables), path
        ids = [p["id"] for p in d["panels"]]
        assert len(ids) == len(set(ids)), path
        for p in d["panels"]:
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, (path, p["title"])
            assert p["fieldConfig"]["defaults"]["unit"], (path, p["title"])
            assert p["targets"] and all(t["expr"] and t["datasource"]["uid"] == "${datasource}" for t in p["targets"])
            assert {"x", "y", "w", "h"} <= set(p["gridPos"])
        seen[d["title"]] = [p["title"] for p in d["panels"]]
    for title, panels in SEED_PANELS.items():
        assert title in seen, title
        assert set(panels) <= set(seen[title]), (title, set(panels) - set(seen[title]))


def test_the_committed_json_is_what_the_generator_writes():
    spec = importlib.util.spec_from_file_location("gen", os.path.join(ROOT, "scripts", "grafana-dashboards.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for name, d in gen.DASHBOARDS.items():
        with open(os.path.join(GRAFANA, "dashboards", f"{name}.json")) as f:
            assert json.load(f) == d, f"{name}.json differs: run scripts/grafana-dashboards.py"


def test_provisioning_files():
    with open(os.path.join(GRAFANA, "provisioning", "dashboards", "tally.yaml")) as f:
        p = yaml.safe_load(f)
    assert p["apiVersion"] == 1 and p["providers"][0]["type"] == "file" and p["providers"][0]["options"]["path"]
    with open(os.path.join(GRAFANA, "provisioning", "datasources", "prometheus.yaml")) as f:
        ds = yaml.safe_load(f)
    assert ds["datasources"][0]["type"] == "prometheus" and ds["datasources"][0]["url"].startswith("http://")
