import Testing

@testable import TallyCore

@Suite struct OpenMetricsTests {
    static let prometheusAccept =
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
        + "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

    @Test(arguments: [
        (prometheusAccept, ExpositionFormat.openMetrics),
        ("application/openmetrics-text", .openMetrics),
        ("application/openmetrics-text; version=1.0.0; charset=utf-8", .openMetrics),
        ("*/*", .text),
        ("text/plain;version=0.0.4", .text),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", .text),
        ("application/openmetrics-text;q=0", .text),
        ("application/openmetrics-text;version=2.0.0", .text),
        ("text/plain;q=1,application/openmetrics-text;q=0.5", .text),
    ])
    func acceptNegotiation(_ accept: String, _ expected: ExpositionFormat) {
        #expect(ExpositionFormat(accept: accept) == expected)
    }

    @Test func noAcceptHeaderIsText() {
        #expect(ExpositionFormat(accept: nil) == .text)
    }

    @Test func countersLoseTotalInTheirFamilyNameAndTheBodyEndsInEOF() {
        let h = Harness()
        h.send("http_requests_total:3|c|#service:order_executor,method:GET,path:/x,status:200")
        h.send("http_request_duration_seconds:20|ms|#service:order_executor,method:GET,path:/x")
        let text = h.render("order_executor", format: .openMetrics)
        #expect(text.contains("# TYPE http_requests counter\n# HELP http_requests Total HTTP requests.\n"))
        #expect(text.contains("\nhttp_requests_total{method=\"GET\",path=\"/x\",status=\"200\"} 3\n"))
        #expect(
            text.contains(
                "# TYPE http_request_duration_seconds histogram\n# UNIT http_request_duration_seconds seconds\n"))
        #expect(text.hasSuffix("\n# EOF\n"))
        #expect(!text.contains("_created"))
        // Text 0.0.4 is unchanged: the family keeps _total, no UNIT, no EOF.
        let plain = h.render("order_executor")
        #expect(plain.contains("# TYPE http_requests_total counter\n"))
        #expect(!plain.contains("# UNIT") && !plain.contains("# EOF"))
    }

    @Test func traceIDBecomesTheExemplarOfTheCounterAndTheBucketNeverALabel() {
        let h = Harness()
        h.send(
            "http_requests_total:2|c|#service:order_executor,method:GET,path:/x,status:200,trace_id:4bf92f,span_id:00f0",
            now: 1000.5)
        h.send("http_request_duration_seconds:50|ms|#service:order_executor,method:GET,path:/x,trace_id:t1", now: 1001)
        h.send("http_request_duration_seconds:5|ms|#service:order_executor,method:GET,path:/x,trace_id:t2", now: 1002)
        #expect(h.reasons.isEmpty)
        #expect(h.stats.droppedTags.isEmpty)
        #expect(h.stats.exemplarsKept == 3)
        let text = h.render("order_executor", format: .openMetrics)
        #expect(
            text.contains(
                "http_requests_total{method=\"GET\",path=\"/x\",status=\"200\"} 2 "
                    + "# {trace_id=\"4bf92f\",span_id=\"00f0\"} 2 1000.5\n"))
        // 50 ms falls in le=0.1, 5 ms in le=0.005: each bucket keeps its own latest.
        #expect(text.contains("le=\"0.1\"} 2 # {trace_id=\"t1\"} 0.05 1001\n"))
        #expect(text.contains("le=\"0.005\"} 1 # {trace_id=\"t2\"} 0.005 1002\n"))
        #expect(text.contains("le=\"0.01\"} 1\n"))
        // Not a label: every sample line's labels are only the documented ones.
        for line in text.split(separator: "\n") where line.hasPrefix("http_") {
            #expect(!line.split(separator: " # ")[0].contains("_id"))
        }
        // The text format never shows exemplars.
        #expect(!h.render("order_executor").contains("trace_id"))
    }

    @Test func latestExemplarWinsAndUndocumentedFamiliesGetThemToo() {
        let h = Harness()
        h.send("jobs:1|c|#service:order_executor,queue:a,trace_id:first", now: 1000)
        h.send("jobs:1|c|#service:order_executor,queue:a,trace_id:second", now: 1001)
        let text = h.render("order_executor", format: .openMetrics)
        #expect(text.contains("jobs_total{queue=\"a\"} 2 # {trace_id=\"second\"} 1 1001\n"))
        #expect(!text.contains("first"))
    }

    @Test func exemplarsThatCannotBeShownAreCountedAndTheLineStillFolds() {
        let h = Harness()
        h.send("position_pnl_usd:1|g|#service:risk_manager,position_id:a,symbol:S,trace_id:g")
        h.send("http_request_size_bytes:10|h|#service:risk_manager,method:GET,path:/,trace_id:s")
        let long = String(repeating: "x", count: 121)
        h.send("http_requests_total:1|c|#service:risk_manager,method:GET,path:/,status:200,trace_id:\(long)")
        #expect(h.reasons.isEmpty)
        #expect(h.stats.exemplarsNotApplicable == 2)
        #expect(h.stats.exemplarsTooLong == 1)
        #expect(h.stats.exemplarsKept == 0)
        let text = h.render("risk_manager", format: .openMetrics)
        #expect(!text.contains("trace_id"))
        #expect(text.contains("\nhttp_requests_total{method=\"GET\",path=\"/\",status=\"200\"} 1\n"))
        // 120 x's plus the label name is exactly 128 code points: kept.
        h.send(
            "http_requests_total:1|c|#service:risk_manager,method:GET,path:/,status:200,trace_id:"
                + String(repeating: "é", count: 120))
        #expect(h.stats.exemplarsKept == 1)
    }

    @Test func exemplarsMoveWithTheirSeriesWhenOthersExpire() {
        let h = Harness(shards: 1, limits: Limits(ttl: 60))
        h.send("old:1|c|#service:order_executor", now: 1000)
        h.send("kept:1|c|#service:order_executor,trace_id:t", now: 1050)
        #expect(h.registry.sweep(now: 1070) == 1)
        let text = h.render("order_executor", now: 1070, format: .openMetrics)
        #expect(text.contains("kept_total 1 # {trace_id=\"t\"} 1 1050\n"))
        #expect(!text.contains("old_total"))
    }

    @Test func aCatalogueLabelNamedTraceIDIsRefused() {
        #expect(throws: Catalogue.ValidationError.exemplarLabel(family: "x_total", label: "trace_id")) {
            try Catalogue(families: [
                FamilyDescriptor(name: "x_total", type: .counter, help: "x", labels: ["trace_id"])
            ])
        }
    }

    @Test func aGaugeMayNotTakeTheOpenMetricsNameOfACounter() {
        #expect(throws: Catalogue.ValidationError.duplicateFamily("x")) {
            try Catalogue(families: [
                FamilyDescriptor(name: "x_total", type: .counter, help: "x", labels: []),
                FamilyDescriptor(name: "x", type: .gauge, help: "x", labels: []),
            ])
        }
    }
}
