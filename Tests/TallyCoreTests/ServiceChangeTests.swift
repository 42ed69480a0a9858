import Testing

@testable import TallyCore

/// Services added and removed by a reload, while lines keep coming.
@Suite struct ServiceChangeTests {
    static let req = "http_requests_total{method=\"GET\",path=\"/x\",status=\"200\"}"

    static func line(_ service: String) -> String {
        "http_requests_total:1|c|#service:\(service),method:GET,path:/x,status:200"
    }

    @Test func addedServicesTakeLinesAndRemovedOnesLoseTheirSeries() {
        let h = Harness()
        h.send(Self.line("risk_manager"))
        h.send(Self.line("billing"))
        #expect(h.reasons == [.unknownService])
        let change = h.registry.setServices(["risk_manager", "billing"])
        #expect(change.added == ["billing"])
        #expect(change.removed.map(\.name) == ["strategy_service", "order_executor"])
        h.send(Self.line("billing"))
        h.send(Self.line("order_executor"))
        #expect(h.reasons == [.unknownService, .unknownService])
        let billing = h.registry.services.index(of: "billing")!
        #expect(ExpositionRenderer.render(h.registry, service: billing, now: 1000).count > 0)
        #expect(h.value("risk_manager", Self.req) == 1)
        // A removed service's series are gone (and counted); coming back, it starts empty.
        h.send(Self.line("risk_manager"))
        let removed = h.registry.setServices(["billing"])
        #expect(removed.removed.map(\.name) == ["risk_manager"] && removed.removed[0].series == 1)
        h.registry.setServices(["billing", "risk_manager"])
        #expect(h.registry.services.index(of: "risk_manager") == 1)
        #expect(h.value("risk_manager", Self.req) == nil)
        #expect(h.registry.seriesCounts()[1] == 0)
    }

    @Test func ingestSettingsApplyFromTheNextPacket() {
        let h = Harness()
        h.send("jobs:1|c")
        #expect(h.reasons == [.noService])
        h.registry.setIngestSettings(
            .init(defaultService: "order_executor", maxLineLength: 100_000, dropClientTelemetry: false))
        h.send("jobs:1|c")
        #expect(h.value("order_executor", "jobs_total") == 1)
        // The line limit grew: the key buffer grew with it.
        let long = "jobs:1|c|#service:order_executor,blob:" + String(repeating: "x", count: 80_000)
        h.send(long)
        #expect(h.reasons == [.noService])
        h.send("datadog.dogstatsd.client.packets_sent:1|c|#service:order_executor")
        #expect(h.stats.skipped(.clientTelemetry) == 0)
    }

    /// Three loops fold while the services flip: the service that stays loses no line.
    @Test func flipsWhileFoldingLoseNoLineOfAServiceThatStays() async {
        let h = Harness()
        let registry = h.registry
        let perLoop = 20_000
        await withTaskGroup(of: Void.self) { group in
            for loop in 0..<3 {
                group.addTask {
                    let ingestor = Ingestor(
                        registry: registry, transport: "t\(loop)", limiter: RejectLogLimiter(interval: 1e9)
                    ) { _ in }
                    var packet = Self.line("risk_manager") + "\n" + Self.line("order_executor") + "\n"
                    for _ in 0..<perLoop {
                        packet.withUTF8 { ingestor.ingest(packet: UnsafeRawBufferPointer($0), now: 1000) }
                    }
                }
            }
            group.addTask {
                for i in 0..<200 {
                    registry.setServices(i % 2 == 0 ? ["risk_manager"] : ["risk_manager", "order_executor", "x\(i)"])
                    _ = ExpositionRenderer.render(registry, service: 1, now: 1000)
                }
            }
        }
        #expect(h.value("risk_manager", Self.req) == Double(3 * perLoop))
    }
}
