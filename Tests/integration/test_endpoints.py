"""The per-service HTTP endpoints and the admin endpoint, over real HTTP."""
import http.client

from tallykit import SERVICES, Tallyd, assert_valid_exposition, http_get, wait_until


def test_every_service_has_its_endpoint_with_service_up(tallyd):
    for name in SERVICES:
        text = tallyd.scrape(name)
        assert_valid_exposition(text)
        assert f'service_up{{service_name="{name}"}} 0' in text


def test_unknown_path_is_404_and_other_methods_405(tallyd):
    port = tallyd.services["risk_manager"]
    status, _, body = http_get(port, "/nope")
    assert status == 404 and "/metrics" in body
    status, headers, _ = http_get(port, "/metrics", method="POST")
    assert status == 405 and headers.get("Allow") == "GET, HEAD"
    status, headers, body = http_get(port, "/metrics", method="HEAD")
    assert status == 200 and body == "" and int(headers["Content-Length"]) > 0
    status, _, _ = http_get(port, "/metrics?debug=1")
    assert status == 200
    # The admin endpoint's 404 lists what it does serve (it said only /metrics).
    status, _, body = http_get(tallyd.admin_port, "/nope")
    assert status == 404
    for path in ["/ ", "/api/v1/status", "/metrics", "/-/healthy", "/-/ready", "POST /-/reload"]:
        assert path in body, body


def test_keep_alive_connection_serves_several_scrapes(tallyd):
    conn = http.client.HTTPConnection("127.0.0.1", tallyd.services["order_executor"], timeout=5)
    for _ in range(3):
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        assert r.status == 200 and b"service_up" in r.read()
    conn.close()


def test_admin_endpoint(tallyd):
    text = tallyd.admin()
    assert_valid_exposition(text)
    assert 'tally_families{kind="documented"} 45' in text
    assert "process_cpu_seconds_total" in text
    status, _, body = http_get(tallyd.admin_port, "/healthz")
    assert status == 200 and body == "ok\n"


def test_service_up_follows_heartbeat_timeout():
    with Tallyd(extra_yaml="heartbeat_timeout: 1s\n") as d:
        d.send("order_executor.ping:1|c")
        d.wait_received(1)
        assert d.value("order_executor", "service_up", service_name="order_executor") == 1
        start = d.value("order_executor", "service_start_time", service_name="order_executor")
        wait_until(lambda: d.value("order_executor", "service_up", service_name="order_executor") == 0,
                   timeout=5, what="service_up to drop after 1s of silence")
        d.send("order_executor.ping:1|c")
        wait_until(lambda: d.value("order_executor", "service_up", service_name="order_executor") == 1, timeout=5)
        assert d.value("order_executor", "service_start_time", service_name="order_executor") > start


def test_two_udp_listeners_feed_one_registry():
    with Tallyd(udp_count=2) as d:
        line = "orders_filled_total:1|c|#service:order_executor,order_type:limit,symbol:X"
        d.send(line, port=d.udp_ports[0])
        d.send(line, port=d.udp_ports[1])
        d.wait_received(2)
        assert d.value("order_executor", "orders_filled_total", order_type="limit", symbol="X") == 2


def test_gzip_when_the_scraper_asks_for_it(tallyd):
    """Prometheus sends Accept-Encoding: gzip; the body then comes compressed, byte for byte the
    same exposition once decompressed. Without it, identity."""
    import gzip
    import urllib.request
    for i in range(200):
        tallyd.send(f"orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:S{i},side:buy")
    tallyd.wait_received(200)
    port = tallyd.services["order_executor"]
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.headers["Content-Encoding"] == "gzip" and r.headers["Vary"] == "Accept-Encoding"
        compressed = r.read()
    plain = tallyd.scrape("order_executor")
    text = gzip.decompress(compressed).decode()
    assert text == plain
    assert len(compressed) < len(plain) / 5
    assert_valid_exposition(text)
