/// One service's series as flat samples, the way remote write sends them: a metric name (with
/// `_bucket`/`_sum`/`_count` for histograms and summaries), its labels, a value.
extension Registry {
    /// Calls `body` once per sample of `service`, taken from one snapshot (the same a scrape
    /// takes: a reference copy per shard under its lock, everything else outside it). Label
    /// pairs come in the family's order, `le` last; `service_up` and `service_start_time` as
    /// the exposition shows them.
    public func forEachSample(
        service: Int, now: Double,
        _ body: (_ family: FamilyDescriptor, _ name: String, _ labels: [(String, String)], _ value: Double) -> Void
    ) {
        let (families, stores) = snapshot(service: service)
        let serviceName = services.names[service]
        var suffixed: [Int: (bucket: String, sum: String, count: String, le: [String])] = [:]
        for (id, family) in families.enumerated() where !family.retired {
            switch SpecialFamily(family) {
            case .serviceUp?:
                body(family, family.name, [("service_name", serviceName)], services.isUp(service, now: now) ? 1 : 0)
            case .serviceStartTime?:
                if let start = services.liveness(service).startTime {
                    body(family, family.name, [("service_name", serviceName)], start)
                }
            default:
                if family.type == .histogram || family.type == .summary {
                    suffixed[id] = (
                        family.name + "_bucket", family.name + "_sum", family.name + "_count",
                        family.buckets.map(TextWriter.bucketLabel) + ["+Inf"]
                    )
                }
            }
        }
        var labels: [(String, String)] = []
        for store in stores {
            for i in 0..<store.count {
                let offset = store.offset(at: i)
                let familyID = store.table.withKey(at: i) { key -> Int in
                    let id = SeriesKey.family(of: key)
                    guard id < families.count else { return -1 }
                    let names = families[id].labels
                    labels.removeAll(keepingCapacity: true)
                    SeriesKey.forEachLabel(of: key) { index, name, value in
                        let labelName =
                            name.map { String(decoding: $0, as: UTF8.self) }
                            ?? (names.flatMap { index < $0.count ? $0[index] : nil } ?? "label\(index)")
                        labels.append((labelName, String(decoding: value, as: UTF8.self)))
                    }
                    return id
                }
                guard familyID >= 0 else { continue }
                let family = families[familyID]
                if family.retired || SpecialFamily(family) == .serviceUp || SpecialFamily(family) == .serviceStartTime {
                    continue
                }
                let v = store.values
                switch family.type {
                case .counter, .gauge:
                    body(family, family.name, labels, v[offset])
                case .histogram:
                    guard let names = suffixed[familyID] else { continue }
                    let n = family.buckets.count
                    var cumulative = 0.0
                    for b in 0...n {
                        if b < n { cumulative += v[offset + b] }
                        body(
                            family, names.bucket, labels + [("le", names.le[b])], b < n ? cumulative : v[offset + n + 1]
                        )
                    }
                    body(family, names.sum, labels, v[offset + n])
                    body(family, names.count, labels, v[offset + n + 1])
                case .summary:
                    guard let names = suffixed[familyID] else { continue }
                    body(family, names.sum, labels, v[offset])
                    body(family, names.count, labels, v[offset + 1])
                }
            }
        }
    }
}
