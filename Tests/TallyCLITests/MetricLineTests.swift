import Testing

@testable import TallyCore
@testable import tally

/// The lines the metric subcommands build, and the local check that uses tallyd's own fold.
@Suite struct MetricLineTests {
    @Test func buildsDogStatsDLines() throws {
        var line = MetricLine(name: "orders_placed_total", value: "1", type: "c")
        line.service = "order_executor"
        line.tags = [("order_type", "limit"), ("symbol", "BTCUSDT")]
        line.sampleRate = 0.5
        #expect(
            try line.text() == "orders_placed_total:1|c|@0.5|#service:order_executor,order_type:limit,symbol:BTCUSDT")
        #expect(try MetricLine(name: "risk_manager.x", value: "-2", type: "g").text() == "risk_manager.x:-2|g")
    }

    @Test(arguments: [
        MetricLine(name: "a:b", value: "1", type: "c"),
        MetricLine(name: "a", value: "1|c", type: "c"),
        MetricLine(name: "a", value: "1", type: "c", tags: [("k", "x,y")]),
        MetricLine(name: "a", value: "1", type: "c", tags: [("k", "x|y")]),
        MetricLine(name: "a", value: "1", type: "c", tags: [("k", "line\nbreak")]),
        MetricLine(name: "a", value: "1", type: "c", sampleRate: 2),
        MetricLine(name: "", value: "1", type: "c"),
    ])
    func refusesWhatWouldChangeTheLine(_ line: MetricLine) {
        #expect(throws: MetricLine.Invalid.self) { try line.text() }
    }

    @Test func tagsAreKeyEqualsValue() throws {
        #expect(try MetricLine.tag("symbol=BTC=USD") == ("symbol", "BTC=USD"))
        #expect(throws: MetricLine.Invalid.self) { try MetricLine.tag("symbol") }
        #expect(throws: MetricLine.Invalid.self) { try MetricLine.tag("=x") }
    }

    /// The daemon's reasons, from the daemon's fold; any service is fine locally.
    @Test func theLocalCheckGivesTallydsReason() {
        let catalogue = CatalogueLoaderForTests.embedded
        let ok = "orders_placed_total:1|c|#service:anything,order_type:limit,symbol:X,side:buy"
        #expect(LocalCheck.refusal(of: ok, service: "anything", catalogue: catalogue) == nil)
        #expect(
            LocalCheck.refusal(of: "order_executor.db_connections_total:1|g", service: nil, catalogue: catalogue) == nil
        )
        #expect(LocalCheck.refusal(of: "undocumented_thing:1|c", service: nil, catalogue: catalogue) == nil)
        let wrongType = "orders_placed_total:1|g|#service:s,order_type:limit,symbol:X,side:buy"
        #expect(LocalCheck.refusal(of: wrongType, service: "s", catalogue: catalogue)?.reason == .typeMismatch)
        let missing = "orders_placed_total:1|c|#service:s,order_type:limit"
        #expect(LocalCheck.refusal(of: missing, service: "s", catalogue: catalogue)?.reason == .missingLabel)
        #expect(LocalCheck.refusal(of: "x:NaN|c", service: nil, catalogue: catalogue)?.reason == .invalidValue)
    }
}

enum CatalogueLoaderForTests {
    static let embedded = try! LocalCheck.catalogue(nil)
}
