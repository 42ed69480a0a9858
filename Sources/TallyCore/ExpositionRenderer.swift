/// Renders one service's series in the Prometheus text format 0.0.4.
///
/// Families come out sorted by name and series by label values; the registry is only
/// touched to take per-shard snapshots, all formatting happens outside its locks.
public enum ExpositionRenderer {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ registry: Registry, service: Int, now: Double) -> [UInt8] {
        let families = registry.families.snapshot()
        let stores = registry.snapshot(service: service)

        // Series grouped by family: (store, index) pairs.
        var perFamily = [[(store: Int32, index: Int32)]](repeating: [], count: families.count)
        var total = 0
        for (s, store) in stores.enumerated() {
            for i in 0..<store.count {
                let family = store.table.withKey(at: i) { Int($0.loadUnaligned(as: UInt32.self).littleEndian) }
                perFamily[family].append((Int32(s), Int32(i)))
                total += 1
            }
        }
        var w = TextWriter(capacity: 256 + total * 64)
        let order = families.indices.sorted { families[$0].name < families[$1].name }
        let liveness = registry.services.liveness(service)
        let serviceName = registry.services.names[service]
        for id in order {
            let family = families[id]
            if family.isDocumented && family.name == "service_up" {
                w.header(name: family.name, help: family.help, type: family.type)
                w.append("service_up{service_name=\"")
                w.labelValue(serviceName)
                w.append("\"} ")
                w.value(registry.services.isUp(service, now: now) ? 1 : 0)
                w.append(byte: 0x0A)
                continue
            }
            if family.isDocumented && family.name == "service_start_time" {
                guard let start = liveness.startTime else { continue }
                w.header(name: family.name, help: family.help, type: family.type)
                w.append("service_start_time{service_name=\"")
                w.labelValue(serviceName)
                w.append("\"} ")
                w.value(start)
                w.append(byte: 0x0A)
                continue
            }
            var refs = perFamily[id]
            guard !refs.isEmpty else { continue }
            refs.sort { a, b in
                stores[Int(a.store)].table.withKey(at: Int(a.index)) { ka in
                    stores[Int(b.store)].table.withKey(at: Int(b.index)) { kb in
                        ka.lexicographicallyPrecedes(kb)
                    }
                }
            }
            w.header(name: family.name, help: family.help, type: family.type)
            let bucketLabels = family.buckets.map { "le=\"" + TextWriter.bucketLabel($0) + "\"" }
            for r in refs {
                let store = stores[Int(r.store)]
                let offset = Int(store.offsets[Int(r.index)])
                store.table.withKey(at: Int(r.index)) { key in
                    let labels = UnsafeRawBufferPointer(rebasing: key[4...])
                    store.values.withUnsafeBufferPointer { v in
                        writeSeries(&w, family: family, labels: labels, values: v, offset: offset, bucketLabels: bucketLabels)
                    }
                }
            }
        }
        return w.bytes
    }

    static func writeSeries(
        _ w: inout TextWriter, family: FamilyDescriptor, labels: UnsafeRawBufferPointer,
        values v: UnsafeBufferPointer<Double>, offset: Int, bucketLabels: [String]
    ) {
        switch family.type {
        case .counter, .gauge:
            w.append(family.name)
            writeLabels(&w, family, labels, extra: nil)
            w.append(byte: 0x20)
            w.value(v[offset])
            w.append(byte: 0x0A)
        case .histogram:
            let n = family.buckets.count
            var cumulative = 0.0
            for b in 0...n {
                if b < n { cumulative += v[offset + b] }
                w.append(family.name)
                w.append("_bucket")
                writeLabels(&w, family, labels, extra: b < n ? bucketLabels[b] : "le=\"+Inf\"")
                w.append(byte: 0x20)
                w.value(b < n ? cumulative : v[offset + n + 1])
                w.append(byte: 0x0A)
            }
            writeSumCount(&w, family, labels, sum: v[offset + n], count: v[offset + n + 1])
        case .summary:
            writeSumCount(&w, family, labels, sum: v[offset], count: v[offset + 1])
        }
    }

    static func writeSumCount(_ w: inout TextWriter, _ family: FamilyDescriptor, _ labels: UnsafeRawBufferPointer, sum: Double, count: Double) {
        w.append(family.name)
        w.append("_sum")
        writeLabels(&w, family, labels, extra: nil)
        w.append(byte: 0x20)
        w.value(sum)
        w.append(byte: 0x0A)
        w.append(family.name)
        w.append("_count")
        writeLabels(&w, family, labels, extra: nil)
        w.append(byte: 0x20)
        w.value(count)
        w.append(byte: 0x0A)
    }

    /// `{a="x",b="y"}` from key data (see `SeriesStore`); nothing when there are no labels.
    static func writeLabels(_ w: inout TextWriter, _ family: FamilyDescriptor, _ data: UnsafeRawBufferPointer, extra: String?) {
        if data.isEmpty && extra == nil { return }
        w.append(byte: UInt8(ascii: "{"))
        var first = true
        var i = 0
        var labelIndex = 0
        while i < data.count {
            var end = i
            while data[end] != 0 { end += 1 }
            if !first { w.append(byte: UInt8(ascii: ",")) }
            first = false
            if let names = family.labels {
                w.append(names[labelIndex])
                w.append("=\"")
                w.labelValue(UnsafeRawBufferPointer(rebasing: data[i..<end]))
            } else {
                var sep = i
                while data[sep] != 1 { sep += 1 }
                w.append(raw: UnsafeRawBufferPointer(rebasing: data[i..<sep]))
                w.append("=\"")
                w.labelValue(UnsafeRawBufferPointer(rebasing: data[(sep + 1)..<end]))
            }
            w.append(byte: UInt8(ascii: "\""))
            labelIndex += 1
            i = end + 1
        }
        if let extra {
            if !first { w.append(byte: UInt8(ascii: ",")) }
            w.append(extra)
        }
        w.append(byte: UInt8(ascii: "}"))
    }
}
