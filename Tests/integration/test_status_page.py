"""The status page in a real headless browser (Debian's chromium), the JSON it is built from,
and `tally status` / `tally top` reading the same JSON."""
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from tallykit import TALLY, Tallyd, http_get, wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/install-deps.sh test)")

EVIL = "x:1|c|#service:risk_manager,<script>document.title='owned'</script>:1"


def chromium(*args, timeout=90):
    p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--no-first-run", "--disable-dev-shm-usage", *args], capture_output=True, timeout=timeout)
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-2000:]
    return p.stdout.decode()


class Dom(HTMLParser):
    """Rows by data-service, every <script> element, and the text of each refusal example."""

    def __init__(self):
        super().__init__()
        self.rows = {}
        self.scripts = 0
        self.examples = []
        self._in_example = False
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "tr" and "data-service" in a:
            self.rows[a["data-service"]] = a.get("data-state")
        if tag == "code" and "example" in (a.get("class") or ""):
            self._in_example = True
            self.examples.append("")
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        if tag == "code":
            self._in_example = False
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_example:
            self.examples[-1] += data
        if self._in_title:
            self.title += data


def test_status_page_in_a_real_browser(tmp_path):
    with Tallyd() as d:
        d.send("orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:AAPL,side:buy")
        d.send(EVIL)
        wait_until(lambda: d.rejected("invalid_label_name") == 1, what="the evil line refused")
        url = f"http://127.0.0.1:{d.admin_port}/"
        dom = Dom()
        dom.feed(chromium("--dump-dom", url))
        # Every configured service has a row with its state.
        assert set(dom.rows) == set(d.services), dom.rows
        assert dom.rows["order_executor"] == "up"
        assert dom.rows["alert_system"] == "down"
        # The refused line shows as text: no script element came from it, and it did not run.
        assert dom.scripts == 0
        assert any("<script>document.title='owned'</script>" in e for e in dom.examples), dom.examples
        assert "owned" not in dom.title
        shot = tmp_path / "status-page.png"
        chromium("--window-size=1280,1100", f"--screenshot={shot}", url)
        assert shot.stat().st_size > 10_000
        phone = tmp_path / "status-page-phone.png"
        chromium("--window-size=390,844", f"--screenshot={phone}", url)
        assert phone.stat().st_size > 5_000
        out = os.environ.get("TALLY_TEST_OUTPUT")
        if out:
            shutil.copy(shot, os.path.join(out, "status-page.png"))


def test_status_json_and_the_cli():
    with Tallyd(extra_yaml="limits: {families: {orders_placed_total: 2}}\n") as d:
        for sym in ["A", "B", "C"]:
            d.send(f"orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:{sym},side:buy")
        d.send(EVIL)
        d.wait_received(4)
        status, headers, body = http_get(d.admin_port, "/api/v1/status")
        assert status == 200 and headers["Content-Type"] == "application/json"
        r = json.loads(body)
        services = {s["name"]: s for s in r["services"]}
        assert set(services) == set(d.services)
        assert services["order_executor"]["up"] and services["order_executor"]["series"] == 2
        assert services["order_executor"]["top_families_by_series"][0] == {"family": "orders_placed_total",
                                                                           "series": 2}
        # By lines/s, per service: the 3 order lines (2 kept, 1 refused by the limit) are
        # order_executor's, the refused x line risk_manager's.
        wait_until(lambda: json.loads(http_get(d.admin_port, "/api/v1/status")[2])["services"], what="status")
        by_rate = {s["name"]: [f["family"] for f in s["top_families_by_rate"]]
                   for s in json.loads(http_get(d.admin_port, "/api/v1/status")[2])["services"]}
        assert by_rate["order_executor"] == ["orders_placed_total"], by_rate
        assert "orders_placed_total" not in by_rate["risk_manager"], by_rate
        reasons = {f["reason"]: f for f in r["refusals"]}
        assert reasons["cardinality_limit"]["last_five_minutes"] == 1
        assert "<script>" in reasons["invalid_label_name"]["example"]
        assert {entry["listener"] for entry in r["listeners"]} >= {"ingest.udp[0]", "services.order_executor", "admin"}
        assert r["ready"] is True and r["version"]
        env = {**os.environ, "TALLY_ADMIN": f"127.0.0.1:{d.admin_port}"}
        table = subprocess.run([TALLY, "status"], capture_output=True, text=True, env=env, timeout=30)
        assert table.returncode == 0, table.stderr
        assert "order_executor" in table.stdout and "cardinality_limit" in table.stdout
        assert max(len(line) for line in table.stdout.splitlines()) <= 80
        # Every listener's name stands apart from its protocol (services.market_data_service ran into it).
        for line in table.stdout.split("LISTENERS\n")[1].split("\n\n")[0].splitlines():
            if not line.startswith("  kernel"):
                assert re.match(r"^  \S+\s{2,}\S+\s+\S+", line), line
        raw = subprocess.run([TALLY, "status", "--json", "--admin", f"127.0.0.1:{d.admin_port}"],
                             capture_output=True, text=True, timeout=30)
        assert json.loads(raw.stdout)["services"]
        top = subprocess.run([TALLY, "top", "--once"], capture_output=True, text=True, env=env, timeout=30)
        assert top.returncode == 0 and "orders_placed_total" in top.stdout, top.stdout
        bad = subprocess.run([TALLY, "status", "--admin", "127.0.0.1:1"], capture_output=True, text=True, timeout=30)
        assert bad.returncode == 1 and "127.0.0.1:1" in bad.stderr
