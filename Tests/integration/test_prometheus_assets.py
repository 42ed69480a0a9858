"""config/prometheus: the config, the rules and their unit tests, checked by the real promtool;
and every recording rule and alert is covered by rules/tests.yml."""
import os
import subprocess

import yaml
from tallykit import ROOT

PROM = os.path.join(ROOT, "config", "prometheus")


def promtool(*args):
    p = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120, cwd=PROM)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout + p.stderr


def test_config_and_rules_pass_promtool():
    assert "SUCCESS" in promtool("check", "config", "prometheus.yml")
    out = promtool("check", "rules", "rules/recording.yml", "rules/alerts.yml")
    assert "FAILED" not in out


def test_every_rule_is_tested_and_the_tests_pass():
    assert "SUCCESS" in promtool("test", "rules", "rules/tests.yml")
    rules = []
    for name in ["recording.yml", "alerts.yml"]:
        with open(os.path.join(PROM, "rules", name)) as f:
            for group in yaml.safe_load(f)["groups"]:
                rules += group["rules"]
    with open(os.path.join(PROM, "rules", "tests.yml")) as f:
        tests = yaml.safe_load(f)["tests"]
    tested_exprs = {t["expr"] for case in tests for t in case.get("promql_expr_test", [])}
    alert_evals = {}
    for case in tests:
        for t in case.get("alert_rule_test", []):
            alert_evals.setdefault(t["alertname"], []).append(bool(t.get("exp_alerts")))
    for rule in rules:
        if "record" in rule:
            assert rule["record"] in tested_exprs, f"recording rule {rule['record']} has no test"
        else:
            evals = alert_evals.get(rule["alert"], [])
            assert True in evals and False in evals, f"alert {rule['alert']} must be tested firing and cleared"
    # The seed's five alerts are all there.
    names = {r.get("alert") for r in rules}
    assert {"ServiceDown", "HighErrorRate", "DataCollectorDown", "ModelDrift", "RiskLimitBreach"} <= names


def test_the_scrape_config_names_every_service_with_its_documented_port():
    with open(os.path.join(PROM, "prometheus.yml")) as f:
        config = yaml.safe_load(f)
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    services = jobs["tally-services"]
    assert services["honor_labels"] is True
    targets = {c["labels"]["service_name"]: c["targets"][0] for c in services["static_configs"]}
    from tallykit import SERVICES
    assert targets == {name: f"127.0.0.1:{port}" for name, port in SERVICES.items()}
    assert jobs["tallyd"]["static_configs"][0]["targets"] == ["127.0.0.1:9102"]
