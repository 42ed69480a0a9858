import Testing

@testable import TallyCore

/// Lines for a large key table wait for the rest of their packet (their slot prefetched) and
/// are applied after it: the same values, refusals, counts and exemplars as lines applied at
/// once. One shard, so a few thousand series make the table large enough to queue.
@Suite struct QueuedFoldTests {
    /// A harness whose table for `service` is past `Registry.prefetchedMask`: 5000 series
    /// `http_requests_total{method="GET",path="/p<n>",status="200"}`, each at 1.
    static func largeTable(
        service: String = "order_executor", limits: Limits = Limits(maxSeriesPerFamily: 100_000)
    ) -> Harness {
        let h = Harness(shards: 1, limits: limits)
        for start in stride(from: 0, to: 5000, by: 20) {
            h.send(
                (start..<(start + 20)).map {
                    "http_requests_total:1|c|#service:\(service),method:GET,path:/p\($0),status:200"
                }.joined(separator: "\n"))
        }
        return h
    }

    @Test func queuedLinesFoldLikeTheReferenceModel() {
        let h = Self.largeTable()
        let before = h.ingestor.linesQueued
        var rng = SplitMix64(seed: 9)
        var counters: [Int: Double] = [:]
        var gauge = 0.0
        for _ in 0..<200 {
            var packet: [String] = []
            for _ in 0..<20 {
                switch rng.next() % 4 {
                case 0, 1:
                    let path = Int(rng.next() % 6000)  // existing series and new ones
                    let v = Int(rng.next() % 9) + 1
                    packet.append(
                        "http_requests_total:\(v)|c|#service:order_executor,method:GET,path:/p\(path),status:200")
                    counters[path, default: 0] += Double(v)
                case 2:
                    let v = Int(rng.next() % 100)
                    packet.append("db_connections_total:\(v)|g|#service:order_executor")
                    gauge = Double(v)
                default:
                    packet.append("http_requests_total:x|c|#service:order_executor,method:GET,path:/bad,status:200")
                }
            }
            h.send(packet.joined(separator: "\n"))
        }
        #expect(h.ingestor.linesQueued > before, "no line was queued: the test does not test the queue")
        // One exposition, read into a table (a render per series would take minutes).
        var samples: [Substring: Double] = [:]
        for line in h.render("order_executor").split(separator: "\n") where !line.hasPrefix("#") {
            let cut = line.lastIndex(of: " ")!
            samples[line[..<cut]] = Double(line[line.index(after: cut)...])
        }
        for (path, v) in counters {
            let created = path < 5000 ? 1.0 : 0.0
            let series = "http_requests_total{method=\"GET\",path=\"/p\(path)\",status=\"200\"}"
            #expect(samples[Substring(series)] == v + created, "path /p\(path)")
        }
        #expect(h.value("order_executor", "db_connections_total{service_name=\"order_executor\"}") == gauge)
        let stats = h.stats
        #expect(stats.accepted + stats.rejected.reduce(0, +) == stats.lines)
        #expect(Set(h.reasons) == [.invalidValue])
    }

    @Test func aQueuedLineRefusedByALimitIsCountedAndTheRestOfThePacketApplies() {
        let h = Self.largeTable(limits: Limits(maxSeriesPerFamily: 5000))
        let before = h.ingestor.linesQueued
        h.send(
            [
                "http_requests_total:2|c|#service:order_executor,method:GET,path:/p1,status:200",
                "http_requests_total:1|c|#service:order_executor,method:GET,path:/new,status:200",
                "http_requests_total:3|c|#service:order_executor,method:GET,path:/p2,status:200",
            ].joined(separator: "\n"))
        #expect(h.ingestor.linesQueued == before + 3)
        #expect(h.reasons == [.cardinalityLimit])
        #expect(h.value("order_executor", "http_requests_total{method=\"GET\",path=\"/p1\",status=\"200\"}") == 3)
        #expect(h.value("order_executor", "http_requests_total{method=\"GET\",path=\"/p2\",status=\"200\"}") == 4)
        #expect(h.value("order_executor", "http_requests_total{method=\"GET\",path=\"/new\",status=\"200\"}") == nil)
        #expect(h.stats.accepted == 5000 + 2)
    }

    @Test func aQueuedLineKeepsItsExemplar() {
        let h = Self.largeTable()
        let before = h.ingestor.linesQueued
        h.send(
            "http_requests_total:2|c|#service:order_executor,method:GET,path:/p7,status:200,trace_id:4bf92f,span_id:00f0",
            now: 1000.5)
        #expect(h.ingestor.linesQueued == before + 1)
        #expect(h.stats.exemplarsKept == 1)
        let text = h.render("order_executor", format: .openMetrics)
        #expect(
            text.contains("http_requests_total{method=\"GET\",path=\"/p7\",status=\"200\"} 3 # {trace_id=\"4bf92f\""))
    }
}
