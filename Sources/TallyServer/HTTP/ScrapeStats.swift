import Synchronization
import TallyCore

/// Scrapes of each service's /metrics (its own endpoint and the admin endpoint's
/// `?service=`): how many (by format), how long (a histogram), how big the last body was.
final class ScrapeStats: Sendable {
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    struct PerService: Sendable {
        var count = 0
        /// By `ExpositionFormat.allCases` index.
        var byFormat = [Int](repeating: 0, count: ExpositionFormat.allCases.count)
        var sum = 0.0
        /// Non-cumulative: `bucketCounts[i]` holds durations in (buckets[i-1], buckets[i]];
        /// the last slot is +Inf.
        var bucketCounts = [Int](repeating: 0, count: ScrapeStats.buckets.count + 1)
        var lastBytes = 0
    }

    private let state = Mutex<[Int: PerService]>([:])

    func record(service: Int, format: ExpositionFormat = .text, seconds: Double, bytes: Int) {
        let f = ExpositionFormat.allCases.firstIndex(of: format)!
        var b = 0
        while b < Self.buckets.count && seconds > Self.buckets[b] { b += 1 }
        state.withLock { all in
            var s = all[service, default: PerService()]
            s.count += 1
            s.byFormat[f] += 1
            s.sum += seconds
            s.bucketCounts[b] += 1
            s.lastBytes = bytes
            all[service] = s
        }
    }

    var all: [Int: PerService] { state.withLock { $0 } }

    /// The three families, for every configured service (zeros before its first scrape).
    func render(_ w: inout TextWriter, services: [String], active: [Int]) {
        let all = self.all
        w.header(
            name: "tally_scrapes_total", help: "Scrapes of each service's /metrics, by format (text or openmetrics).",
            type: .counter)
        for i in active {
            let name = services[i]
            for (f, format) in ExpositionFormat.allCases.enumerated() {
                w.append("tally_scrapes_total{service=\"")
                w.labelValue(name)
                w.append("\",format=\"")
                w.append(format.rawValue)
                w.append("\"} ")
                w.integer(Int64(all[i]?.byFormat[f] ?? 0))
                w.append(byte: 0x0A)
            }
        }
        w.header(
            name: "tally_scrape_duration_seconds", help: "Time to render each service's /metrics body.",
            type: .histogram)
        for i in active {
            let s = all[i] ?? PerService()
            w.histogramSeries(
                "tally_scrape_duration_seconds", label: "service", value: services[i], bounds: Self.buckets,
                counts: s.bucketCounts, sum: s.sum, count: s.count)
        }
        w.header(name: "tally_scrape_bytes", help: "Size of the last /metrics body of each service.", type: .gauge)
        for i in active {
            let name = services[i]
            w.append("tally_scrape_bytes{service=\"")
            w.labelValue(name)
            w.append("\"} ")
            w.integer(Int64(all[i]?.lastBytes ?? 0))
            w.append(byte: 0x0A)
        }
    }
}

extension TextWriter {
    /// One series of a histogram with one label (`name_bucket{label="value",le=…}`, `_sum`,
    /// `_count`), from per-bucket counts (`counts[i]` in (bounds[i-1], bounds[i]], the last
    /// slot +Inf), as tallyd's own histograms keep them.
    mutating func histogramSeries(
        _ name: String, label: String, value: String, bounds: [Double], counts: [Int], sum: Double, count: Int
    ) {
        var cumulative = 0
        for b in 0...bounds.count {
            cumulative += counts[b]
            append(name)
            append("_bucket{")
            append(label)
            append("=\"")
            labelValue(value)
            append("\",le=\"")
            if b < bounds.count { self.value(bounds[b]) } else { append("+Inf") }
            append("\"} ")
            integer(Int64(cumulative))
            append(byte: 0x0A)
        }
        for (suffix, isSum) in [("_sum{", true), ("_count{", false)] {
            append(name)
            append(suffix)
            append(label)
            append("=\"")
            labelValue(value)
            append("\"} ")
            if isSum { self.value(sum) } else { integer(Int64(count)) }
            append(byte: 0x0A)
        }
    }
}
