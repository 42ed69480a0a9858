#!/usr/bin/env python3
"""Regenerates docs/status-page.png: a real tallyd on free loopback ports, some traffic from
every service (and a few refused lines), then Debian's headless chromium takes the screenshot.
Run by `make status-page` (after a build)."""
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "integration"))
from tallykit import Tallyd, wait_until  # noqa: E402

chromium = shutil.which("chromium")
if chromium is None:
    sys.exit("chromium is not installed: scripts/install-deps.sh test")

with Tallyd(extra_yaml="limits: {families: {position_pnl_usd: 50}}\n") as d:
    lines = []
    for i in range(40):
        lines.append(f"orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:SYM{i % 7},side:buy")
        lines.append(f"http_requests_total:1|c|#service:api_gateway,method:GET,path:/api/v1/x{i % 5},status:200")
        lines.append(f"db_connections_total:{i % 9}|g|#service:risk_manager")
        lines.append(f"position_pnl_usd:{i}|g|#service:risk_manager,position_id:p{i * 3},symbol:BTC")
        lines.append("data_points_collected_total:5|c|#service:market_data_service,collector_name:binance,"
                     "source:binance,data_type:klines")
        lines.append("strategy_signals_total:1|c|#service:strategy_service,strategy_id:momentum_v1,"
                     "symbol:BTCUSDT,signal_type:buy")
    lines += ["orders_placed_total:1|g|#service:order_executor", "x:NaN|c",
              "http_requests_total:1|c|#service:api_gateway,method:GET"]
    for n in range(0, len(lines), 20):
        d.send("\n".join(lines[n:n + 20]))
        time.sleep(0.05)
    wait_until(lambda: d.received() >= len(lines), what="the demo traffic")
    time.sleep(2.5)  # one more sample, so the rates have a window
    out = os.path.join(ROOT, "docs", "status-page.png")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                    "--window-size=1200,1150", f"--screenshot={out}", f"http://127.0.0.1:{d.admin_port}/"],
                   check=True, capture_output=True, timeout=120)
    print(f"wrote {out}")
