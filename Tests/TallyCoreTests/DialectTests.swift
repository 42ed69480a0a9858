import Testing

@testable import TallyCore

/// The StatsD dialects and DogStatsD extensions, folded end to end through the ingestor.
@Suite struct DialectTests {
    let req = #"http_requests_total{method="GET",path="/x",status="200"}"#

    static let sameSeries: [String] = [
        "http_requests_total:1|c|#service:strategy_service,method:GET,path:/x,status:200",
        "http_requests_total,service=strategy_service,method=GET,path=/x,status=200:1|c",
        "http_requests_total#service=strategy_service,method=GET,path=/x,status=200:1|c",
        "http_requests_total[service=strategy_service,method=GET,path=/x,status=200]:1|c",
        "strategy_service.http_requests_total,method=GET,path=/x,status=200:1|c",
    ]

    @Test(arguments: sameSeries)
    func everyDialectReachesTheSameSeries(_ line: String) {
        let h = Harness()
        h.send(line)
        #expect(h.reasons == [])
        #expect(h.value("strategy_service", req) == 1)
    }

    @Test func mixingStylesIsRefusedAndCounted() {
        let h = Harness()
        h.send("http_requests_total,method=GET:1|c|#service:strategy_service,path:/x,status:200")
        #expect(h.reasons == [.mixedTagStyles])
        #expect(h.stats.rejected(.mixedTagStyles) == 1)
    }

    @Test func eventsServiceChecksAndClientTelemetryAreSkippedNotRefused() {
        let h = Harness()
        h.send(
            """
            _e{5,4}:title|text|#service:strategy_service
            _sc|db.ok|0|#service:strategy_service
            datadog.dogstatsd.client.metrics:3|c|#client:py,client_version:0.49
            http_requests_total:1|c|#service:strategy_service,method:GET,path:/x,status:200
            """)
        #expect(h.reasons == [])
        #expect(h.stats.skipped(.event) == 1)
        #expect(h.stats.skipped(.serviceCheck) == 1)
        #expect(h.stats.skipped(.clientTelemetry) == 1)
        #expect(h.stats.accepted == 1)
        #expect(h.stats.lines == 4)
    }

    @Test func clientTelemetryCanBeKept() {
        let h = Harness(defaultService: "risk_manager", dropClientTelemetry: false)
        h.send("datadog.dogstatsd.client.metrics:3|c|#client:py")
        #expect(h.stats.skipped(.clientTelemetry) == 0)
        #expect(h.value("risk_manager", #"datadog_dogstatsd_client_metrics_total{client="py"}"#) == 3)
    }

    @Test func multiValuePacketsObserveEachValueWithTheRate() {
        let h = Harness()
        h.send("http_request_duration_seconds:5:50:500|ms|@0.5|#service:risk_manager,method:GET,path:/x")
        let base = #"http_request_duration_seconds_count{method="GET",path="/x"}"#
        #expect(h.value("risk_manager", base) == 6)
        #expect(h.value("risk_manager", #"http_request_duration_seconds_sum{method="GET",path="/x"}"#) == 1.11)
    }

    @Test func unknownExtensionFieldsAreIgnoredAndCounted() {
        let h = Harness()
        h.send("http_requests_total:1|c|#service:strategy_service,method:GET,path:/x,status:200|e:new|card:low")
        #expect(h.reasons == [])
        #expect(h.stats.unknownFields == 1)
        #expect(h.value("strategy_service", req) == 1)
    }
}
