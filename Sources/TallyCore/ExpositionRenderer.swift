import CTallyCPU

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Renders one service's series in the Prometheus text format 0.0.4, or OpenMetrics 1.0
/// with exemplars.
///
/// Families come out sorted by name and series by label values; the registry is only
/// touched to take per-shard snapshots, all formatting happens outside its locks.
public enum ExpositionRenderer {
    public static let contentType = ExpositionFormat.text.contentType

    /// How many series ahead the write loop prefetches (measured: `tally-bench render`).
    static let prefetchDistance = 16

    /// One series to print: where its key is in the render's flat key copy, and where its
    /// values are. `prefix` holds the first label bytes big-endian, so most comparisons while
    /// sorting are one integer compare.
    struct Ref {
        var prefix: UInt64
        var keyOffset: UInt32
        var keyLength: UInt32
        /// Where the series' values start in the render's flat value copy.
        var valueOffset: UInt32
    }

    public static func render(
        _ registry: Registry, service: Int, now: Double, format: ExpositionFormat = .text
    ) -> [UInt8] {
        let (families, stores) = registry.snapshot(service: service)
        let openMetrics = format == .openMetrics
        /// By slot in `values` (see `SeriesStore.exemplars`); OpenMetrics only.
        var exemplars: [UInt32: Exemplar] = [:]

        // Copy every key's label bytes once into one buffer, grouped by family.
        var perFamily = [[Ref]](repeating: [], count: families.count)
        var keys: [UInt8] = []
        var values: [Double] = []
        var total = 0
        var totalValues = 0
        for store in stores {
            total += store.count
            totalValues += store.values.count
        }
        keys.reserveCapacity(total * 32)
        values.reserveCapacity(totalValues)
        for store in stores {
            let valueBase = UInt32(values.count)
            values.append(contentsOf: store.values)
            if openMetrics {
                for (slot, e) in store.exemplars { exemplars[valueBase + slot] = e }
            }
            for i in 0..<store.count {
                store.table.withKey(at: i) { key in
                    let family = SeriesKey.family(of: key)
                    // Cannot fail: the families are read after the shards.
                    guard family < perFamily.count else { return }
                    let labels = SeriesKey.labels(of: key)
                    perFamily[family].append(
                        Ref(
                            prefix: 0, keyOffset: UInt32(keys.count), keyLength: UInt32(labels.count),
                            valueOffset: valueBase + UInt32(store.offset(at: i))))
                    keys.append(contentsOf: labels)
                }
            }
        }
        var w = TextWriter(capacity: 256 + total * 72)
        let order = families.indices.sorted { families[$0].name < families[$1].name }
        let liveness = registry.services.liveness(service)
        let serviceName = registry.services.names[service]
        for id in order {
            let family = families[id]
            if family.retired { continue }
            if SpecialFamily(family) == .serviceUp {
                header(&w, family, openMetrics: openMetrics)
                w.append("service_up{service_name=\"")
                w.labelValue(serviceName)
                w.append("\"} ")
                w.value(registry.services.isUp(service, now: now) ? 1 : 0)
                w.append(byte: 0x0A)
                continue
            }
            if SpecialFamily(family) == .serviceStartTime {
                guard let start = liveness.startTime else { continue }
                header(&w, family, openMetrics: openMetrics)
                w.append("service_start_time{service_name=\"")
                w.labelValue(serviceName)
                w.append("\"} ")
                w.value(start)
                w.append(byte: 0x0A)
                continue
            }
            guard !perFamily[id].isEmpty else { continue }
            keys.withUnsafeBytes { k in
                sortSeries(&perFamily[id], keys: k)
            }
            header(&w, family, openMetrics: openMetrics)
            let familyExemplars = exemplars.isEmpty ? nil : exemplars
            FamilyRenderView(family).withPieces { layout in
                keys.withUnsafeBytes { k in
                    values.withUnsafeBufferPointer { v in
                        perFamily[id].withUnsafeBufferPointer { refs in
                            for (i, r) in refs.enumerated() {
                                // Sorted by labels, the series' keys and values are read in no
                                // order memory likes: ask for a later series' now, so its cache
                                // misses overlap this one's formatting.
                                if i + prefetchDistance < refs.count {
                                    let ahead = refs[i + prefetchDistance]
                                    tally_prefetch(k.baseAddress! + Int(ahead.keyOffset))
                                    tally_prefetch(v.baseAddress! + Int(ahead.valueOffset))
                                }
                                let labels = UnsafeRawBufferPointer(
                                    rebasing: k[Int(r.keyOffset)..<Int(r.keyOffset + r.keyLength)])
                                writeSeries(
                                    &w, layout, labels: labels, values: v, offset: Int(r.valueOffset),
                                    exemplars: familyExemplars)
                            }
                        }
                    }
                }
            }
        }
        if openMetrics { w.append("# EOF\n") }
        return w.bytes
    }

    /// A family's header; in OpenMetrics a counter's family name has no `_total`.
    static func header(_ w: inout TextWriter, _ family: FamilyDescriptor, openMetrics: Bool) {
        guard openMetrics else {
            w.header(name: family.name, help: family.help, type: family.type)
            return
        }
        var name = family.name
        if family.type == .counter && name.hasSuffix("_total") { name.removeLast("_total".count) }
        w.openMetricsHeader(name: name, help: family.help, type: family.type, unit: family.unit)
    }

    /// ` # {trace_id="…",span_id="…"} value time` after a sample, if its slot has one.
    @inline(__always)
    static func writeExemplar(_ w: inout TextWriter, _ exemplars: [UInt32: Exemplar]?, slot: Int) {
        guard let exemplars, let e = exemplars[UInt32(slot)] else { return }
        w.append(" # {trace_id=\"")
        e.ids.withUnsafeBytes { ids in
            w.labelValue(UnsafeRawBufferPointer(rebasing: ids[..<e.traceLength]))
            if e.traceLength < ids.count {
                w.append("\",span_id=\"")
                w.labelValue(UnsafeRawBufferPointer(rebasing: ids[e.traceLength...]))
            }
        }
        w.append("\"} ")
        w.value(e.value)
        w.append(byte: 0x20)
        w.value(e.time)
    }

    /// Sorts one family's series by label bytes. Keys of one family often share a long
    /// start (`limit\0SYM…`), so the integer prefix is taken after the longest common prefix
    /// of them all, and most comparisons never reach memcmp.
    static func sortSeries(_ refs: inout [Ref], keys k: UnsafeRawBufferPointer) {
        guard refs.count > 1 else { return }
        let base = k.baseAddress!
        let first = refs[0]
        var common = Int(first.keyLength)
        for r in refs.dropFirst() {
            let n = min(common, Int(r.keyLength))
            var j = 0
            while j < n
                && base.load(fromByteOffset: Int(first.keyOffset) + j, as: UInt8.self)
                    == base.load(fromByteOffset: Int(r.keyOffset) + j, as: UInt8.self)
            { j += 1 }
            common = j
            if common == 0 { break }
        }
        for i in refs.indices {
            let start = Int(refs[i].keyOffset) + common
            let length = Int(refs[i].keyLength) - common
            var prefix: UInt64 = 0
            if length >= 8 {
                prefix = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: start, as: UInt64.self))
            } else {
                for j in 0..<8 {
                    prefix = prefix << 8 | UInt64(j < length ? base.load(fromByteOffset: start + j, as: UInt8.self) : 0)
                }
            }
            refs[i].prefix = prefix
        }
        radixSort(&refs)
        // Equal prefixes (rare after the common part is skipped): order those runs by the rest.
        let skip = common + 8
        var runStart = 0
        while runStart < refs.count {
            var runEnd = runStart + 1
            while runEnd < refs.count && refs[runEnd].prefix == refs[runStart].prefix { runEnd += 1 }
            if runEnd - runStart > 1 {
                refs[runStart..<runEnd].sort { a, b in
                    let n = Int(min(a.keyLength, b.keyLength))
                    let c =
                        n > skip ? memcmp(base + Int(a.keyOffset) + skip, base + Int(b.keyOffset) + skip, n - skip) : 0
                    return c != 0 ? c < 0 : a.keyLength < b.keyLength
                }
            }
            runStart = runEnd
        }
    }

    /// LSD radix sort by `prefix`, a byte at a time, skipping bytes every key has alike.
    static func radixSort(_ refs: inout [Ref]) {
        var other = refs
        let countStorage = RawBuffer<Int>(capacity: 256)
        let counts = countStorage.pointer
        defer { withExtendedLifetime(countStorage) {} }
        refs.withUnsafeMutableBufferPointer { a in
            other.withUnsafeMutableBufferPointer { b in
                var src = a
                var dst = b
                var inA = true
                for pass in 0..<8 {
                    let shift = UInt64(pass * 8)
                    counts.initialize(repeating: 0, count: 256)
                    for r in src { counts[Int((r.prefix >> shift) & 0xFF)] += 1 }
                    if counts[Int((src[0].prefix >> shift) & 0xFF)] == src.count { continue }
                    var sum = 0
                    for i in 0..<256 {
                        let c = counts[i]
                        counts[i] = sum
                        sum += c
                    }
                    for r in src {
                        let d = Int((r.prefix >> shift) & 0xFF)
                        dst[counts[d]] = r
                        counts[d] += 1
                    }
                    swap(&src, &dst)
                    inA.toggle()
                }
                if !inA { a.baseAddress!.update(from: b.baseAddress!, count: a.count) }
            }
        }
    }

    /// A `FamilyDescriptor` as the renderer needs it: the fixed pieces as bytes, built once
    /// per render (the name, each label's `name="` with its leading comma, the histogram `le`
    /// labels). Its counterpart on the ingest side is `FamilyFoldView`.
    ///
    /// The pieces sit back to back in one buffer that the write loop reads through `Pieces`,
    /// a pointer view: an array of arrays would cost a retain and a release per label printed.
    struct FamilyRenderView {
        let type: FamilyType
        let bucketCount: Int
        /// false for undocumented families (label names are in the key).
        let documented: Bool
        let labelCount: Int
        /// Pieces in order: name, `_bucket` name, `_sum` name, `_count` name, the label
        /// prefixes, the bucket labels (`le="…"`, +Inf last).
        private let bytes: [UInt8]
        /// Where each piece ends in `bytes`.
        private let ends: [Int]

        init(_ family: FamilyDescriptor) {
            type = family.type
            bucketCount = family.buckets.count
            documented = family.labels != nil
            let labels = family.labels ?? []
            labelCount = labels.count
            var pieces = [family.name, family.name + "_bucket", family.name + "_sum", family.name + "_count"]
            pieces += labels.enumerated().map { ($0.offset == 0 ? "" : ",") + $0.element + "=\"" }
            pieces += family.buckets.map { "le=\"" + TextWriter.bucketLabel($0) + "\"" } + ["le=\"+Inf\""]
            var bytes: [UInt8] = []
            var ends: [Int] = []
            for piece in pieces {
                bytes += piece.utf8
                ends.append(bytes.count)
            }
            self.bytes = bytes
            self.ends = ends
        }

        func withPieces<R>(_ body: (Pieces) -> R) -> R {
            bytes.withUnsafeBytes { b in
                ends.withUnsafeBufferPointer { e in
                    body(
                        Pieces(
                            type: type, bucketCount: bucketCount, documented: documented, bytes: b, ends: e,
                            bucketBase: 4 + labelCount))
                }
            }
        }

        /// The view's pieces by pointer, valid inside `withPieces`.
        struct Pieces {
            let type: FamilyType
            let bucketCount: Int
            let documented: Bool
            let bytes: UnsafeRawBufferPointer
            let ends: UnsafeBufferPointer<Int>
            let bucketBase: Int

            @inline(__always) func piece(_ i: Int) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: bytes[(i == 0 ? 0 : ends[i - 1])..<ends[i]])
            }
            var name: UnsafeRawBufferPointer { piece(0) }
            var bucketName: UnsafeRawBufferPointer { piece(1) }
            var sumName: UnsafeRawBufferPointer { piece(2) }
            var countName: UnsafeRawBufferPointer { piece(3) }
            /// `name="` of documented label `j`, with the comma before it if `j` > 0.
            @inline(__always) func labelPrefix(_ j: Int) -> UnsafeRawBufferPointer { piece(4 + j) }
            /// `le="…"` of bucket `b`; `b == bucketCount` is +Inf.
            @inline(__always) func bucketLabel(_ b: Int) -> UnsafeRawBufferPointer { piece(bucketBase + b) }
        }
    }

    static func writeSeries(
        _ w: inout TextWriter, _ f: FamilyRenderView.Pieces, labels: UnsafeRawBufferPointer,
        values v: UnsafeBufferPointer<Double>, offset: Int, exemplars: [UInt32: Exemplar]? = nil
    ) {
        switch f.type {
        case .counter, .gauge:
            w.append(raw: f.name)
            writeLabels(&w, f, labels, extra: nil)
            w.append(byte: 0x20)
            w.value(v[offset])
            writeExemplar(&w, exemplars, slot: offset)
            w.append(byte: 0x0A)
        case .histogram:
            let n = f.bucketCount
            var cumulative = 0.0
            for b in 0...n {
                if b < n { cumulative += v[offset + b] }
                w.append(raw: f.bucketName)
                writeLabels(&w, f, labels, extra: f.bucketLabel(b))
                w.append(byte: 0x20)
                w.value(b < n ? cumulative : v[offset + n + 1])
                writeExemplar(&w, exemplars, slot: offset + b)
                w.append(byte: 0x0A)
            }
            writeSumCount(&w, f, labels, sum: v[offset + n], count: v[offset + n + 1])
        case .summary:
            writeSumCount(&w, f, labels, sum: v[offset], count: v[offset + 1])
        }
    }

    static func writeSumCount(
        _ w: inout TextWriter, _ f: FamilyRenderView.Pieces, _ labels: UnsafeRawBufferPointer, sum: Double,
        count: Double
    ) {
        w.append(raw: f.sumName)
        writeLabels(&w, f, labels, extra: nil)
        w.append(byte: 0x20)
        w.value(sum)
        w.append(byte: 0x0A)
        w.append(raw: f.countName)
        writeLabels(&w, f, labels, extra: nil)
        w.append(byte: 0x20)
        w.value(count)
        w.append(byte: 0x0A)
    }

    /// `{a="x",b="y"}` from key data (see `SeriesStore`); nothing when there are no labels.
    static func writeLabels(
        _ w: inout TextWriter, _ f: FamilyRenderView.Pieces, _ data: UnsafeRawBufferPointer,
        extra: UnsafeRawBufferPointer?
    ) {
        if data.isEmpty && extra == nil { return }
        w.append(byte: UInt8(ascii: "{"))
        var i = 0
        var labelIndex = 0
        while i < data.count {
            var end = i
            while data[end] != 0 { end += 1 }
            if f.documented {
                w.append(raw: f.labelPrefix(labelIndex))
                w.labelValue(UnsafeRawBufferPointer(rebasing: data[i..<end]))
            } else {
                if labelIndex > 0 { w.append(byte: UInt8(ascii: ",")) }
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
            if labelIndex > 0 { w.append(byte: UInt8(ascii: ",")) }
            w.append(raw: extra)
        }
        w.append(byte: UInt8(ascii: "}"))
    }
}
