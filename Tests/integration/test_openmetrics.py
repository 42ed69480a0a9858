"""OpenMetrics 1.0 on Accept negotiation, with exemplars from trace_id/span_id tags, read by
prometheus_client's OpenMetrics parser (the reference parser) from the real daemon."""
import gzip
import urllib.request

from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
from prometheus_client.parser import text_string_to_metric_families as text_families
from tallykit import Tallyd, catalogue_families, lines_for_all_families

# What Prometheus 2.42 sends.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
OM_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def get(port, path="/metrics", **headers):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    with urllib.request.urlopen(req, timeout=5) as r:
        body = r.read()
        if r.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return r.headers.get("Content-Type"), body.decode()


def test_every_documented_family_parses_as_openmetrics_with_exemplars():
    with Tallyd() as d:
        lines = lines_for_all_families("order_executor")
        lines += [
            "orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:BTCUSDT,side:buy,"
            "trace_id:4bf92f3577b34da6a3ce929d0e0e4736,span_id:00f067aa0ba902b7",
            "order_execution_duration_seconds:300|ms|#service:order_executor,order_type:limit,trace_id:abc",
            "active_positions_count:2|g|#service:order_executor,strategy_id:s,trace_id:gauge-has-none",
        ]
        for i in range(0, len(lines), 10):
            d.send("\n".join(lines[i:i + 10]))
        d.wait_received(len(lines))
        assert d.admin_sum("tally_lines_rejected_total") == 0

        ctype, body = get(d.services["order_executor"], Accept=PROMETHEUS_ACCEPT)
        assert ctype == OM_TYPE
        assert body.endswith("# EOF\n")
        families = {f.name: f for f in om_families(body)}
        for fam in catalogue_families():
            name = fam["name"][:-len("_total")] if fam["type"] == "counter" else fam["name"]
            assert name in families, (name, sorted(families))
            assert families[name].type == fam["type"], (name, families[name].type)
        assert families["order_execution_duration_seconds"].unit == "seconds"

        placed = [s for s in families["orders_placed"].samples if s.exemplar]
        assert len(placed) == 1 and placed[0].name == "orders_placed_total"
        assert placed[0].exemplar.labels == {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                                             "span_id": "00f067aa0ba902b7"}
        assert placed[0].exemplar.value == 1
        assert "trace_id" not in placed[0].labels
        buckets = [s for s in families["order_execution_duration_seconds"].samples if s.exemplar]
        assert [(s.labels["le"], s.exemplar.labels, s.exemplar.value) for s in buckets] == \
            [("0.5", {"trace_id": "abc"}, 0.3)]
        assert not any(s.exemplar for s in families["active_positions_count"].samples)

        # The tag is neither a label nor a dropped tag; what happened to it is counted.
        assert d.admin_sum("tally_tags_dropped_total") == 0
        assert d.admin_value("tally_exemplars_total", result="kept") == 2
        assert d.admin_value("tally_exemplars_total", result="not_counter_or_histogram") == 1
        assert d.admin_value("tally_scrapes_total", service="order_executor", format="openmetrics") == 1

        # Gzip and OpenMetrics together, and the admin endpoint's ?service= negotiates the same.
        _, zipped = get(d.services["order_executor"], Accept=PROMETHEUS_ACCEPT, **{"Accept-Encoding": "gzip"})
        assert zipped.endswith("# EOF\n")
        ctype, admin_body = get(d.admin_port, "/metrics?service=order_executor", Accept="application/openmetrics-text")
        assert ctype == OM_TYPE and "orders_placed_total" in admin_body


def test_every_other_accept_gets_the_text_format_without_exemplars():
    with Tallyd() as d:
        d.send("orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:B,side:buy,trace_id:t1")
        d.wait_received(1)
        port = d.services["order_executor"]
        for accept in [None, "*/*", "text/plain;version=0.0.4", "text/html,*/*;q=0.8",
                       "application/openmetrics-text;q=0"]:
            ctype, body = get(port, **({"Accept": accept} if accept else {}))
            assert ctype == "text/plain; version=0.0.4; charset=utf-8", accept
            assert "# EOF" not in body and "trace_id" not in body
            samples = [s for f in text_families(body) for s in f.samples if s.name == "orders_placed_total"]
            assert [s.value for s in samples] == [1.0]
