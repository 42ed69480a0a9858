import Testing

@testable import TallyCore

/// `Ingestor.ingest(packets:now:)` (the datagram loop's one call per `recvmmsg`) must leave
/// exactly what one `ingest(packet:now:)` per packet leaves: it only pays the per-call costs
/// once.
@Suite struct BatchIngestTests {
    /// Folds `packets` in calls of `perCall`, each packet valid for its whole call.
    static func ingest(_ h: Harness, _ packets: [[UInt8]], perCall: Int, now: Double = 1000) {
        for start in stride(from: 0, to: packets.count, by: perCall) {
            var call: [UnsafeRawBufferPointer] = []
            withBytes(packets[start..<min(start + perCall, packets.count)], into: &call) { call in
                call.withUnsafeBufferPointer { h.ingestor.ingest(packets: $0, now: now) }
            }
        }
    }

    static func withBytes(
        _ packets: ArraySlice<[UInt8]>, into call: inout [UnsafeRawBufferPointer],
        _ body: ([UnsafeRawBufferPointer]) -> Void
    ) {
        guard let first = packets.first else { return body(call) }
        first.withUnsafeBytes { bytes in
            call.append(bytes)
            withBytes(packets.dropFirst(), into: &call, body)
        }
    }

    static func packets(seed: UInt64) -> [[UInt8]] {
        let lines = LineCacheTests.corpus(seed: seed, lines: 6000)
        return stride(from: 0, to: lines.count, by: 20).map {
            Array(lines[$0..<min($0 + 20, lines.count)].joined(separator: "\n").utf8)
        }
    }

    @Test(arguments: [1, 2] as [UInt64])
    func aCallOfManyPacketsFoldsLikeOneCallPerPacket(seed: UInt64) {
        let packets = Self.packets(seed: seed)
        let one = Harness()
        let batched = Harness()
        Self.ingest(one, packets, perCall: 1)
        Self.ingest(batched, packets, perCall: 16)
        #expect(batched.ingestor.lineCacheHits > 1000, "the cache was hardly used: the known-line path is untested")
        #expect(one.stats.packets == packets.count)
        #expect(batched.stats.packets == packets.count)
        let a = LineCacheTests.outcome(one)
        let b = LineCacheTests.outcome(batched)
        #expect(a.count == b.count)
        for (x, y) in zip(a, b) { #expect(x == y) }
    }

    /// The liveness update is made once per call: every service named in any of its packets
    /// is alive afterwards, not only the last packet's.
    @Test func everyServiceOfTheCallIsMarkedAlive() {
        let h = Harness(heartbeat: 30)
        let packets = [
            "strategy_service.jobs:1|c", "risk_manager.jobs:1|c\norder_executor.jobs:2|c", "x:1|c|#service:nobody",
        ].map { Array($0.utf8) }
        Self.ingest(h, packets, perCall: 3, now: 100)
        for s in testServices {
            #expect(h.value(s, "service_up{service_name=\"\(s)\"}", now: 100) == 1, "\(s) not marked alive")
        }
        #expect(h.stats.accepted == 3)
        #expect(h.reasons == [.unknownService])
    }

    /// A catalogue swap between two calls is seen at the next call, as between packets.
    @Test func aCatalogueSwapBetweenCallsIsSeen() {
        let h = Harness()
        let line = "http_requests_total:1|c|#service:order_executor,method:GET,path:/a,status:200"
        Self.ingest(h, [Array(line.utf8), Array(line.utf8)], perCall: 2)
        let series = #"http_requests_total{method="GET",path="/a",status="200"}"#
        #expect(h.value("order_executor", series) == 2)
        let asGauge = try! Catalogue(families: [
            FamilyDescriptor(
                name: "http_requests_total", type: .gauge, help: "Now a gauge.", labels: ["method", "path", "status"])
        ])
        h.registry.replaceCatalogue(asGauge, dropLabels: [:], defaultBuckets: [1])
        Self.ingest(h, [Array(line.utf8)], perCall: 1)
        #expect(h.reasons == [.typeMismatch], "the line was folded with the old catalogue's cached shape")
    }
}
