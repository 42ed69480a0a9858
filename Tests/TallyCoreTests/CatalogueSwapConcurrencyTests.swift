import Testing

@testable import TallyCore

/// The swap under load: loops keep folding while the catalogue flips back and forth.
@Suite struct CatalogueSwapConcurrencyTests {
    @Test func swapsWhileFoldingLoseNoLineOfAnUnchangedFamily() async {
        let h = Harness()
        let registry = h.registry
        let perLoop = 20_000
        let loops = 3
        _ = await Self.foldWhileFlipping(registry, loops: loops, perLoop: perLoop, renderingEachFlip: true) { loop in
            "http_requests_total:1|c|#service:risk_manager,method:GET,path:/x,status:200\nposition_pnl_usd:1|g|#service:risk_manager,position_id:p\(loop),symbol:X,side:long\n"
        }
        #expect(
            h.value("risk_manager", "http_requests_total{method=\"GET\",path=\"/x\",status=\"200\"}")
                == Double(loops * perLoop))
        // Whatever layout position_pnl_usd has now, its series carry that layout's labels.
        let text = h.render("risk_manager")
        for line in text.split(separator: "\n") where line.hasPrefix("position_pnl_usd{") {
            #expect(
                line.hasPrefix("position_pnl_usd{symbol=\"X\",side=\"long\"}")
                    || line.hasPrefix("position_pnl_usd{position_id=\"p"), "\(line)")
        }
    }
}

extension CatalogueSwapConcurrencyTests {
    /// The same with a table large enough that lines are queued (`QueuedFoldTests`): a swap
    /// that lands between a line's queueing and its update sends it through the stale retry
    /// of `applyQueued`; either way each line counts exactly once.
    @Test func swapsWhileQueuedLinesWaitLoseNoLineAndCountNoneTwice() async {
        let h = QueuedFoldTests.largeTable(service: "risk_manager")
        let perLoop = 5000
        let loops = 3
        let queued = await Self.foldWhileFlipping(h.registry, loops: loops, perLoop: perLoop) { loop in
            "http_requests_total:1|c|#service:risk_manager,method:GET,path:/x,status:200\n"
                + "http_requests_total:1|c|#service:risk_manager,method:GET,path:/p\(loop),status:200\n"
        }
        #expect(queued > 0, "no line was queued: the test does not test the queue")
        let text = h.render("risk_manager")
        #expect(text.contains("http_requests_total{method=\"GET\",path=\"/x\",status=\"200\"} \(loops * perLoop)\n"))
        for loop in 0..<loops {
            #expect(
                text.contains("http_requests_total{method=\"GET\",path=\"/p\(loop)\",status=\"200\"} \(perLoop + 1)\n"),
                "path /p\(loop)")
        }
    }

    /// `loops` ingestors, each folding `packet(loop)` `perLoop` times, while the catalogue
    /// flips 200 times (with `renderingEachFlip`, every service is rendered after each flip);
    /// the lines the ingestors queued.
    static func foldWhileFlipping(
        _ registry: Registry, loops: Int, perLoop: Int, renderingEachFlip: Bool = false,
        packet: @escaping @Sendable (Int) -> String
    ) async -> Int {
        let flipped = CatalogueSwapTests.swapped
        let original = testCatalogue
        return await withTaskGroup(of: Int.self) { group in
            for loop in 0..<loops {
                group.addTask {
                    let ingestor = Ingestor(
                        registry: registry, transport: "t\(loop)", limiter: RejectLogLimiter(interval: 1e9)
                    ) { _ in }
                    var bytes = packet(loop)
                    for _ in 0..<perLoop {
                        bytes.withUTF8 { ingestor.ingest(packet: UnsafeRawBufferPointer($0), now: 1000) }
                    }
                    return ingestor.linesQueued
                }
            }
            group.addTask {
                for i in 0..<200 {
                    registry.replaceCatalogue(i % 2 == 0 ? flipped : original, dropLabels: [:], defaultBuckets: [1])
                    guard renderingEachFlip else { continue }
                    for s in 0..<testServices.count { _ = ExpositionRenderer.render(registry, service: s, now: 1000) }
                }
                return 0
            }
            return await group.reduce(0, +)
        }
    }
}

extension CatalogueSwapTests {
    @Test(arguments: [
        ["risk_manager.jobs:1|c", "risk_manager.jobs:1|g"],
        ["risk_manager.fetch:5|ms", "risk_manager.fetch:1|g"],
        ["risk_manager.done_total:1|c", "risk_manager.done:1|g"],
        ["risk_manager.a.b:1|c", "risk_manager.a.b:1|g"],
    ])
    func undocumentedNamesResolveAfterASwapAsBefore(_ lines: [String]) {
        // The same two lines, with and without a catalogue swap between them.
        let before = Harness()
        before.send(lines[0])
        before.send(lines[1])
        let after = Harness()
        after.send(lines[0])
        after.registry.replaceCatalogue(testCatalogue, dropLabels: [:], defaultBuckets: [0.1, 1, 10])
        after.send(lines[1])
        #expect(after.reasons == before.reasons)
        #expect(after.registry.families.undocumentedCount == before.registry.families.undocumentedCount)
    }
}

extension ExpiryTests {
    @Test func theShortestTTLDecidesHowOftenExpiryScans() {
        #expect(Limits().shortestTTL == nil)
        #expect(Limits(ttl: 0, familyTTL: ["a": 0]).shortestTTL == nil)
        #expect(Limits(ttl: 900, familyTTL: ["a": 60, "b": 0]).shortestTTL == 60)
    }
}
