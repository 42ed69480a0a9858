import TallyCore
import TallyServer

/// Deterministic inputs for benchmarks: the same bytes every run.
public enum Corpus {
    public static let services = ["strategy_service", "risk_manager", "alert_system", "api_gateway", "market_data_service", "order_executor"]

    /// A registry with the embedded catalogue and the six services.
    public static func registry(shards: Int = 16) -> Registry {
        let families = FamilyTable(catalogue: CatalogueLoader.embedded(), policy: .accept,
                                   defaultBuckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0])
        // No cardinality limits: the benchmarks create up to millions of series in one family.
        return Registry(families: families, services: ServiceTable(names: services, heartbeatTimeout: 30),
                        limits: Limits(maxSeriesPerFamily: .max, maxSeriesPerService: .max), shardCount: shards)
    }

    public static func ingestor(_ registry: Registry) -> Ingestor {
        Ingestor(registry: registry, transport: "bench", limiter: RejectLogLimiter()) { _ in }
    }

    /// Lines packed `perPacket` to a datagram, newline-separated.
    public static func packets(_ lines: [String], perPacket: Int = 20) -> [[UInt8]] {
        stride(from: 0, to: lines.count, by: perPacket).map { start in
            Array(lines[start..<min(start + perPacket, lines.count)].joined(separator: "\n").utf8)
        }
    }

    /// A realistic mix over all 45 documented families: DogStatsD tags, every service,
    /// about 10% timers and 5% sampled lines; `variety` distinct label values per label.
    public static func mixed(lines: Int, variety: Int = 5, seed: UInt64 = 42) -> [String] {
        var rng = SplitMix(seed: seed)
        let families = CatalogueLoader.embedded().families
        let histograms = families.filter { $0.type == .histogram }
        let others = families.filter { $0.type != .histogram && $0.name != "service_up" }
        var out: [String] = []
        out.reserveCapacity(lines)
        for _ in 0..<lines {
            let timer = rng.next() % 10 == 0
            let f = timer ? histograms[Int(rng.next() % UInt64(histograms.count))] : others[Int(rng.next() % UInt64(others.count))]
            let service = services[Int(rng.next() % UInt64(services.count))]
            var tags = ["service:\(service)"]
            for label in f.labels ?? [] where label != "service_name" {
                tags.append("\(label):\(label)_\(rng.next() % UInt64(variety))")
            }
            let field: String
            let value: String
            switch f.type {
            case .counter: field = "c"; value = "1"
            case .gauge: field = "g"; value = "\(rng.next() % 1000).5"
            case .histogram: field = "ms"; value = "\(rng.next() % 5000)"
            case .summary: field = "h"; value = "\(rng.next() % 65536)"
            }
            let rate = rng.next() % 20 == 0 ? "|@0.5" : ""
            out.append("\(f.name):\(value)|\(field)\(rate)|#\(tags.joined(separator: ","))")
        }
        return out
    }

    /// `lines` counter lines over exactly `series` distinct series, in random order; with
    /// `trace`, each carries a W3C-sized `trace_id` and `span_id` (an exemplar).
    public static func counters(series: Int, lines: Int, seed: UInt64 = 7, trace: Bool = false) -> [String] {
        var rng = SplitMix(seed: seed)
        return (0..<lines).map { i in
            let s = i < series ? i : Int(rng.next() % UInt64(series))
            let line = "orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:SYM\(s),side:buy"
            guard trace else { return line }
            let t = String(rng.next(), radix: 16) + String(rng.next(), radix: 16)
            return line + ",trace_id:\(t),span_id:\(String(rng.next(), radix: 16))"
        }.shuffled(using: &rng)
    }

    /// Folds every packet as tallyd's datagram loop does, `perCall` packets (one `recvmmsg`'s
    /// worth) per `Ingestor.ingest(packets:)`; returns lines accepted.
    @discardableResult
    public static func fold(_ packets: [[UInt8]], into ingestor: Ingestor, now: Double = 1000, perCall: Int = 16)
        -> Int
    {
        var call: [UnsafeRawBufferPointer] = []
        call.reserveCapacity(perCall)
        var start = 0
        while start < packets.count {
            let end = min(start + perCall, packets.count)
            call.removeAll(keepingCapacity: true)
            withBytes(of: packets, start..<end, into: &call) { call in
                call.withUnsafeBufferPointer { ingestor.ingest(packets: $0, now: now) }
            }
            start = end
        }
        return ingestor.cell.read().accepted
    }

    /// Runs `body` with the bytes of `packets[range]`, each valid for the whole call (nested
    /// `withUnsafeBytes`, one level per packet).
    static func withBytes(
        of packets: [[UInt8]], _ range: Range<Int>, into call: inout [UnsafeRawBufferPointer],
        _ body: ([UnsafeRawBufferPointer]) -> Void
    ) {
        guard let i = range.first else { return body(call) }
        packets[i].withUnsafeBytes { bytes in
            call.append(bytes)
            withBytes(of: packets, range.dropFirst(), into: &call, body)
        }
    }
}

/// A tiny deterministic generator (SplitMix64).
public struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
