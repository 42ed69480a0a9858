import SwiftProtobuf
import TallyCore
import TallySystem

/// One interval of one endpoint, ready to encode: every series with its full, sorted label set
/// and the interval's one timestamp, and the families' metadata when it is due.
struct RemoteWriteBatch: Sendable {
    struct Series: Sendable {
        /// `__name__` and every other label, sorted by name (byte order), as receivers require.
        var labels: [(name: String, value: String)]
        var value: Double
    }

    struct Metadata: Sendable {
        var family: String
        var type: FamilyType
        var help: String
        var unit: String
    }

    var timestampMs: Int64
    var series: [Series] = []
    var metadata: [Metadata] = []

    /// The series of `services` (all when nil) as `target` sends them: the series' own labels,
    /// `service_name` where the family has none, `job="tally"`, `instance` (the host name) and
    /// the external labels, each only where the series does not already have it.
    static func collect(
        registry: Registry, target: RemoteWriteEndpoint, instance: String, now: Double, withMetadata: Bool
    ) -> RemoteWriteBatch {
        var batch = RemoteWriteBatch(timestampMs: Int64((now * 1000).rounded()))
        var extra: [(String, String)] = [("job", "tally")]
        if target.externalLabels["instance"] == nil { extra.append(("instance", instance)) }
        extra += target.externalLabels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        var seenFamilies = Set<String>()
        let names = registry.services.snapshot.all
        for service in registry.services.activeIndices {
            let serviceName = names[service]
            if let selected = target.services, !selected.contains(serviceName) { continue }
            // service_up is judged on the monotonic clock; `now` is the samples' wall time.
            registry.forEachSample(service: service, now: MonotonicClock.now()) { family, name, labels, value in
                var all = labels
                if !all.contains(where: { $0.0 == "service_name" }) { all.append(("service_name", serviceName)) }
                for (k, v) in extra where !all.contains(where: { $0.0 == k }) { all.append((k, v)) }
                all.append(("__name__", name))
                all.sort { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
                batch.series.append(Series(labels: all.map { (name: $0.0, value: $0.1) }, value: value))
                if withMetadata && seenFamilies.insert(family.name).inserted {
                    batch.metadata.append(
                        Metadata(
                            family: family.name, type: family.type, help: family.help,
                            unit: family.unit == .none ? "" : family.unit.rawValue))
                }
            }
        }
        return batch
    }
}

/// A remote-write wire format. 1.0 is what ships; 2.0 (still a release candidate, and Debian's
/// Prometheus 2.42 cannot receive it) would be a second conformance with its own content type
/// and version header, chosen per endpoint.
protocol RemoteWriteEncoding: Sendable {
    var contentType: String { get }
    /// `X-Prometheus-Remote-Write-Version`.
    var version: String { get }
    /// One request's body before compression.
    func encode(
        _ series: ArraySlice<RemoteWriteBatch.Series>, metadata: [RemoteWriteBatch.Metadata], timestampMs: Int64
    )
        throws -> [UInt8]
}

/// Prometheus remote-write 1.0: a protobuf `WriteRequest` (prompb), snappy-compressed by the
/// sender.
struct RemoteWriteV1: RemoteWriteEncoding {
    var contentType: String { "application/x-protobuf" }
    var version: String { "0.1.0" }

    func encode(
        _ series: ArraySlice<RemoteWriteBatch.Series>, metadata: [RemoteWriteBatch.Metadata], timestampMs: Int64
    ) throws -> [UInt8] {
        var request = Prometheus_WriteRequest()
        request.timeseries.reserveCapacity(series.count)
        for s in series {
            var ts = Prometheus_TimeSeries()
            ts.labels = s.labels.map { l in
                var label = Prometheus_Label()
                label.name = l.name
                label.value = l.value
                return label
            }
            var sample = Prometheus_Sample()
            sample.value = s.value
            sample.timestamp = timestampMs
            ts.samples = [sample]
            request.timeseries.append(ts)
        }
        request.metadata = metadata.map { m in
            var md = Prometheus_MetricMetadata()
            md.metricFamilyName = m.family
            md.help = m.help
            md.unit = m.unit
            switch m.type {
            case .counter: md.type = .counter
            case .gauge: md.type = .gauge
            case .histogram: md.type = .histogram
            case .summary: md.type = .summary
            }
            return md
        }
        return try request.serializedBytes()
    }
}

/// One interval of a registry, collected, encoded and compressed as a sender does it, without
/// sending: what the benchmarks and docs/scaling.md measure.
public enum RemoteWriteCost {
    public struct Result: Sendable {
        public var samples = 0
        public var requests = 0
        /// Protobuf bytes before snappy, and after (on the wire).
        public var rawBytes = 0
        public var wireBytes = 0

        public init() {}
    }

    public static func oneInterval(registry: Registry, maxSamplesPerSend: Int = 2000, now: Double) -> Result {
        let batch = RemoteWriteBatch.collect(
            registry: registry, target: RemoteWriteEndpoint(url: "http://localhost/api/v1/write"), instance: "host-1",
            now: now, withMetadata: false)
        var r = Result()
        r.samples = batch.series.count
        var start = 0
        while start < batch.series.count {
            let end = min(start + maxSamplesPerSend, batch.series.count)
            guard let raw = try? RemoteWriteV1().encode(batch.series[start..<end], metadata: [], timestampMs: 0) else {
                break
            }
            r.rawBytes += raw.count
            r.wireBytes += Snappy.compress(raw).count
            r.requests += 1
            start = end
        }
        return r
    }
}
