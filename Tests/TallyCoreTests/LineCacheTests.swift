import Testing

@testable import TallyCore

/// Lines of a shape the ingestor folded before take `LineCache`'s entry instead of the tag
/// scan: the result must be exactly the whole fold's, for good lines and bad ones.
@Suite struct LineCacheTests {
    /// Shapes that repeat with different values, and the lines that must not come from the
    /// cache or must fall back to the whole fold: bad values, negative counters, sets,
    /// special families, trace ids, valueless, duplicate and dropped tags, unknown fields,
    /// unknown services, SignalFX tags with a `:` inside, invalid UTF-8 and NUL in the value.
    static func corpus(seed: UInt64, lines: Int) -> [String] {
        var rng = SplitMix64(seed: seed)
        let values = ["1", "2", "0", "3.5", "+4", "-2", "1e3", "x", "", "1:2:3", "nan", "\u{FF}", "1\u{0}", "-0"]
        func value() -> String { values[Int(rng.next() % UInt64(values.count))] }
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let services = ["order_executor", "risk_manager", "strategy_service", "nobody"]
        var out: [String] = []
        for _ in 0..<lines {
            let s = services[pick(services.count)]
            let p = pick(8)
            switch pick(16) {
            case 0: out.append("http_requests_total:\(value())|c|#service:\(s),method:GET,path:/p\(p),status:200")
            case 1: out.append("http_requests_total:\(value())|c|@0.5|#service:\(s),method:GET,path:/p\(p),status:200")
            case 2: out.append("http_request_duration_seconds:\(value())|ms|#service:\(s),method:GET,path:/p\(p)")
            case 3: out.append("http_request_duration_seconds:\(value())|h|#service:\(s),method:PUT,path:/p\(p)")
            case 4: out.append("http_request_size_bytes:\(value())|d|#service:\(s),method:GET,path:/p\(p)")
            case 5: out.append("position_pnl_usd:\(value())|g|#service:\(s),position_id:x\(p),symbol:AB")
            case 6: out.append("db_connections_total:\(value())|g|#service_name:\(s)")
            case 7: out.append("\(s).jobs:\(value())|c|#kind:k\(p)")
            case 8: out.append("\(s).users:\(value())|s")
            case 9: out.append("service_up:\(value())|g|#service:\(s)")
            case 10:
                out.append(
                    "http_requests_total:\(value())|c|#service:\(s),method:GET,path:/p\(p),status:200,"
                        + "trace_id:\(pick(1000)),span_id:\(pick(99))")
            case 11: out.append("http_requests_total:\(value())|c|#service:\(s),method:GET,path:/p\(p),status:200,flag")
            case 12: out.append("http_requests_total:\(value())|c|#service:\(s),method:GET,method:PUT,path:/p,status:1")
            case 13: out.append("http_requests_total:\(value())|c|#service:\(s),method:GET,path:/p,status:2,extra:\(p)")
            case 14: out.append("http_requests_total:\(value())|c|#service:\(s),method:GET,path:/p,status:3|x:new")
            default: out.append("\(s).queue[k=a:\(p % 2),j=b]:\(value())|g")
            }
        }
        return out
    }

    /// Everything a fold leaves behind: every service's exposition, the counts, and each
    /// rejection's reason and detail.
    static func outcome(_ h: Harness) -> [String] {
        let s = h.stats
        return testServices.map { h.render($0) } + [
            "accepted \(s.accepted) rejected \(s.rejected) valueless \(s.valuelessTags) duplicate \(s.duplicateTags)",
            "unknown fields \(s.unknownFields) dropped \(s.droppedTags.map { "\($0.family) \($0.tag) \($0.count)" })",
            "exemplars \(s.exemplarsKept)",
        ] + h.rejections.withLock { $0.map { "\($0.reason) \($0.detail)" } }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func cachedFoldsEqualTheWholeFold(seed: UInt64) {
        let lines = Self.corpus(seed: seed, lines: 6000)
        let cached = Harness()
        let whole = Harness()
        whole.ingestor.lineCacheEnabled = false
        for h in [cached, whole] {
            for start in stride(from: 0, to: lines.count, by: 20) {
                h.send(lines[start..<min(start + 20, lines.count)].joined(separator: "\n"))
            }
        }
        #expect(cached.ingestor.lineCacheHits > 1000, "the cache was hardly used: the test does not test it")
        #expect(whole.ingestor.lineCacheHits == 0)
        let a = Self.outcome(cached)
        let b = Self.outcome(whole)
        #expect(a.count == b.count)
        for (x, y) in zip(a, b) { #expect(x == y) }
    }

    /// A known line goes straight to the series index it found last time, unless its store
    /// changed layout: an expiry rebuilds the store and moves the series that stay, and a new
    /// series then takes a moved one's old index.
    @Test func aKnownLineFindsItsSeriesAfterAnExpiryMovedIt() {
        let h = Harness(shards: 1, limits: Limits(ttl: 10))
        func line(_ path: String, _ v: Int) -> String {
            "http_requests_total:\(v)|c|#service:risk_manager,method:GET,path:/\(path),status:200"
        }
        func value(_ path: String, now: Double) -> Double? {
            h.value("risk_manager", "http_requests_total{method=\"GET\",path=\"/\(path)\",status=\"200\"}", now: now)
        }
        h.send([line("a", 1), line("b", 1), line("c", 1)].joined(separator: "\n"), now: 1000)
        h.send([line("a", 1), line("c", 1)].joined(separator: "\n"), now: 1008)
        let hits = h.ingestor.lineCacheHits
        #expect(hits >= 2, "the lines were not known: the test does not test the hint")
        #expect(h.registry.sweep(now: 1015) == 1)  // b: a stays first, c moves into b's place
        h.send(line("d", 1), now: 1015)  // takes c's old index
        h.send(line("c", 5), now: 1015)
        #expect(h.ingestor.lineCacheHits == hits + 1)
        #expect(value("a", now: 1015) == 2)
        #expect(value("b", now: 1015) == nil)
        #expect(value("c", now: 1015) == 7)
        #expect(value("d", now: 1015) == 1)
    }

    @Test func aKnownShapeWithABadValueIsRefusedLikeAnyLine() {
        let h = Harness()
        let ok = "http_requests_total:1|c|#service:risk_manager,method:GET,path:/x,status:200"
        h.send(ok)
        h.send(ok)
        #expect(h.ingestor.lineCacheHits == 1)
        h.send("http_requests_total:-1|c|#service:risk_manager,method:GET,path:/x,status:200")
        h.sendBytes(
            Array("http_requests_total:".utf8) + [0xFF]
                + Array("|c|#service:risk_manager,method:GET,path:/x,status:200".utf8))
        h.send("http_requests_total:1e999|c|#service:risk_manager,method:GET,path:/x,status:200")
        #expect(h.reasons == [.invalidValue, .invalidUTF8, .invalidValue])
        #expect(h.value("risk_manager", "http_requests_total{method=\"GET\",path=\"/x\",status=\"200\"}") == 2)
    }

    @Test func aCatalogueSwapForgetsEveryShape() {
        let h = Harness()
        let line = "position_pnl_usd:5|g|#service:risk_manager,position_id:p1,symbol:X"
        h.send(line)
        h.send(line)
        #expect(h.ingestor.lineCacheHits == 1)
        // position_pnl_usd's labels change: the old shape lacks `side` now.
        _ = h.registry.replaceCatalogue(CatalogueSwapTests.swapped, dropLabels: [:], defaultBuckets: [1])
        h.send(line)
        #expect(h.reasons == [.missingLabel])
        #expect(h.ingestor.lineCacheHits == 1)
    }

    @Test func theSendersIdentityIsPartOfTheShape() {
        let h = Harness()
        let line = "db_connections_total:3|g|#service:risk_manager"
        let risk = testServices.firstIndex(of: "risk_manager")!
        let other = testServices.firstIndex(of: "order_executor")!
        for _ in 0..<2 {
            line.utf8CString.withUnsafeBytes {
                h.ingestor.ingest(
                    packet: UnsafeRawBufferPointer(rebasing: $0.dropLast()), now: 1000, boundService: risk)
            }
        }
        #expect(h.ingestor.lineCacheHits == 1)
        line.utf8CString.withUnsafeBytes {
            h.ingestor.ingest(packet: UnsafeRawBufferPointer(rebasing: $0.dropLast()), now: 1000, boundService: other)
        }
        #expect(h.reasons == [.serviceMismatch])
    }

    @Test func anExpiredSeriesComesBackFromAKnownShape() {
        let h = Harness(limits: Limits(ttl: 10))
        h.send("risk_manager.jobs:1|c", now: 1000)
        h.registry.sweep(now: 1020)
        #expect(h.value("risk_manager", "jobs_total") == nil)
        h.send("risk_manager.jobs:2|c", now: 1021)
        #expect(h.ingestor.lineCacheHits == 1)
        #expect(h.value("risk_manager", "jobs_total") == 2)
    }

    @Test func cardinalityRefusalsFromKnownShapesExplainThemselves() {
        let h = Harness(limits: Limits(families: ["position_pnl_usd": 1]))
        h.send("position_pnl_usd:1|g|#service:risk_manager,position_id:a,symbol:X")
        h.send("position_pnl_usd:1|g|#service:risk_manager,position_id:b,symbol:X")
        h.send("position_pnl_usd:1|g|#service:risk_manager,position_id:b,symbol:X")
        #expect(h.reasons == [.cardinalityLimit, .cardinalityLimit])
        #expect(h.ingestor.lineCacheHits == 1)
    }

    @Test func manySeriesGrowTheCacheAndFewHitsSetItAside() {
        var cache = LineCache()
        let seed: UInt64 = 7
        var hits = 0
        // Far more distinct shapes than the largest cache, each sent once: after a window
        // that hits almost nothing, lookups stop for a while.
        var rested = false
        for i in 0..<(LineCache.maxCapacity * 8) {
            let line = Array("m:1|c|#k:\(i)".utf8)
            line.withUnsafeBytes { l in
                let shape = cache.shape(l, seed: seed)
                guard shape.valid else {
                    rested = true
                    return
                }
                if cache.find(shape, l, bound: -1) != nil { hits += 1 }
                let key: [UInt8] = [1, 2, 3]
                key.withUnsafeBytes {
                    cache.insert(
                        shape, l, bound: -1, service: 0, family: 0, kind: .counter, sampleRate: 1,
                        key: $0.baseAddress!, keyLength: 3, keyHash: 9)
                }
            }
        }
        #expect(hits == 0)
        #expect(cache.capacity == LineCache.maxCapacity)
        #expect(rested)
    }

    /// Feeds `count` random lines drawn from `shapes` distinct shapes, inserting each miss as
    /// the fold does; the hits, and the lines that went by while the cache rested.
    static func stream(_ cache: inout LineCache, shapes: Int, count: Int) -> (hits: Int, rested: Int) {
        var rng = SplitMix64(seed: 11)
        var hits = 0
        var rested = 0
        let key: [UInt8] = [1, 2, 3]
        for _ in 0..<count {
            let line = Array("m:1|c|#k:\(rng.next() % UInt64(shapes))".utf8)
            line.withUnsafeBytes { l in
                let shape = cache.shape(l, seed: 7)
                guard shape.valid else {
                    rested += 1
                    return
                }
                if cache.find(shape, l, bound: -1) != nil {
                    hits += 1
                    return
                }
                key.withUnsafeBytes {
                    cache.insert(
                        shape, l, bound: -1, service: 0, family: 0, kind: .counter, sampleRate: 1,
                        key: $0.baseAddress!, keyLength: 3, keyHash: 9)
                }
            }
        }
        return (hits, rested)
    }

    @Test func aCacheHittingUnderHalfTheLinesStandsAsideAndComesBack() {
        // Three times as many shapes as slots: about a third of the lines hit, which costs
        // more than it saves.
        var cache = LineCache()
        let many = Self.stream(&cache, shapes: 3 * LineCache.maxCapacity, count: 4 * LineCache.window)
        #expect(many.hits > 0)
        #expect(many.rested > 0)
        #expect(cache.isResting)
        // It looks again after `standAside` lines.
        cache.rest(lines: LineCache.standAside - many.rested - 1)
        #expect(cache.isResting)
        cache.rest(lines: 1)
        #expect(!cache.isResting)
        // 10k series fit: most lines hit and it never rests, although the windows in which
        // the table grew (each growth starts it empty) hit far less than half.
        var fits = LineCache()
        let few = Self.stream(&fits, shapes: 10_000, count: 4 * LineCache.window)
        #expect(few.rested == 0)
        #expect(few.hits * 2 > 4 * LineCache.window)
    }
}
