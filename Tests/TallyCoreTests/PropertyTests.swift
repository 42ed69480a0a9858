import Testing

@testable import TallyCore

/// Random valid input against simple reference models.
@Suite struct PropertyTests {
    struct Sample {
        var name: String
        var field: String
        var values: [Double]
        var rate: Double?
        var tags: [(String, String)]

        /// The StatsD line for this sample.
        var line: String {
            var s = name + ":" + values.map { format($0) }.joined(separator: ":") + "|" + field
            if let rate { s += "|@" + format(rate) }
            if !tags.isEmpty { s += "|#" + tags.map { "\($0.0):\($0.1)" }.joined(separator: ",") }
            return s
        }
    }

    static func format(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)" }

    static let labelAlphabet = ["GET", "POST", "/x", "/y/z", "ok", "é", "naïve", "a\"q", "b\\s", "日本", "1", "-"]

    /// Rendered line → parsed back: every field survives.
    @Test func renderedLinesParseBackToTheSameSample() {
        var rng = SplitMix64(seed: 0xC0FFEE)
        for _ in 0..<2000 {
            let fields = ["c", "g", "ms", "h", "d"]
            let count = 1 + Int(rng.next() % 3)
            let sample = Sample(
                name: ["a", "x.y", "z_1", "m-n"][Int(rng.next() % 4)],
                field: fields[Int(rng.next() % 5)],
                values: (0..<count).map { _ in Double(rng.next() % 100_000) / [1, 10, 1000][Int(rng.next() % 3)] },
                rate: rng.next() % 3 == 0 ? [0.5, 0.25, 0.1, 1][Int(rng.next() % 4)] : nil,
                tags: (0..<Int(rng.next() % 4)).map { i in
                    ("k\(i)", Self.labelAlphabet[Int(rng.next() % UInt64(Self.labelAlphabet.count))])
                })
            var text = sample.line
            text.withUTF8 { buf in
                let p = UnsafeRawBufferPointer(buf)
                guard case .success(let parsed) = StatsDLine.parse(p) else {
                    Issue.record("did not parse: \(sample.line)")
                    return
                }
                #expect(
                    String(decoding: UnsafeRawBufferPointer(rebasing: p[parsed.name]), as: UTF8.self) == sample.name)
                let values = String(decoding: UnsafeRawBufferPointer(rebasing: p[parsed.values]), as: UTF8.self)
                    .split(separator: ":").map { Double($0)! }
                #expect(values == sample.values)
                #expect(parsed.sampleRate == (sample.rate ?? 1))
                var tags: [(String, String)] = []
                var it = TagIterator(p, parsed.tags, separator: parsed.tagStyle.separator)
                while let t = it.next() {
                    tags.append(
                        (
                            String(decoding: UnsafeRawBufferPointer(rebasing: p[t.key]), as: UTF8.self),
                            String(decoding: UnsafeRawBufferPointer(rebasing: p[t.value]), as: UTF8.self)
                        ))
                }
                #expect(
                    tags.map(\.0) == sample.tags.map(\.0) && tags.map(\.1) == sample.tags.map(\.1), "\(sample.line)")
            }
        }
    }

    /// Folding N random lines gives what a dictionary-based model gives, series by series.
    @Test func foldingMatchesAReferenceModel() {
        var rng = SplitMix64(seed: 42)
        let h = Harness()
        var counters: [String: Double] = [:]  // series text -> value
        var gauges: [String: Double] = [:]
        var counts: [String: Double] = [:]  // histogram _count
        var sums: [String: Double] = [:]
        let methods = ["GET", "POST"]
        let paths = ["/a", "/b", "/c\"q", "/é"]
        var packet: [String] = []
        for i in 0..<3000 {
            let service = testServices[Int(rng.next() % 3)]
            let m = methods[Int(rng.next() % 2)]
            let p = paths[Int(rng.next() % 4)]
            let escaped = p.replacingBackslashAndQuote()
            switch rng.next() % 3 {
            case 0:
                let v = Double(rng.next() % 50)
                let rate = [1.0, 0.5, 0.25][Int(rng.next() % 3)]
                packet.append(
                    "http_requests_total:\(Int(v))|c|@\(rate)|#service:\(service),method:\(m),path:\(p),status:200")
                counters[
                    "\(service) http_requests_total{method=\"\(m)\",path=\"\(escaped)\",status=\"200\"}", default: 0] +=
                    v / rate
            case 1:
                let v = Double(rng.next() % 1000) - 500
                packet.append("db_connections_total:\(Int(v))|g|#service:\(service)")
                // StatsD: a signed gauge value is a delta, an unsigned one sets the gauge.
                let key = "\(service) db_connections_total{service_name=\"\(service)\"}"
                gauges[key] = v < 0 ? (gauges[key] ?? 0) + v : v
            default:
                let ms = Double(rng.next() % 3000)
                packet.append("http_request_duration_seconds:\(Int(ms))|ms|#service:\(service),method:\(m),path:\(p)")
                let key = "\(service) {method=\"\(m)\",path=\"\(escaped)\"}"
                counts[key, default: 0] += 1
                sums[key, default: 0] += ms / 1000
            }
            if packet.count == 20 || i == 2999 {
                h.send(packet.joined(separator: "\n"))
                packet.removeAll()
            }
        }
        #expect(h.reasons.isEmpty)
        func close(_ a: Double?, _ b: Double) -> Bool { a.map { abs($0 - b) <= 1e-9 * max(1, abs(b)) } ?? false }
        for (key, v) in counters {
            let service = String(key.split(separator: " ", maxSplits: 1)[0])
            let series = String(key.split(separator: " ", maxSplits: 1)[1])
            #expect(close(h.value(service, series), v), "\(key)")
        }
        for (key, v) in gauges {
            let parts = key.split(separator: " ", maxSplits: 1)
            #expect(close(h.value(String(parts[0]), String(parts[1])), v), "\(key)")
        }
        for (key, c) in counts {
            let parts = key.split(separator: " ", maxSplits: 1)
            #expect(close(h.value(String(parts[0]), "http_request_duration_seconds_count" + parts[1]), c), "\(key)")
            #expect(
                close(h.value(String(parts[0]), "http_request_duration_seconds_sum" + parts[1]), sums[key]!), "\(key)")
        }
    }
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension String {
    /// Label-value escaping as the exposition does it (`\` and `"`; no newlines here).
    func replacingBackslashAndQuote() -> String {
        var out = ""
        for c in self {
            if c == "\\" { out += "\\\\" } else if c == "\"" { out += "\\\"" } else { out.append(c) }
        }
        return out
    }
}
