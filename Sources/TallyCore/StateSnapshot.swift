/// The registry's series as bytes, so a restart (upgrade, reload that needs one, watchdog)
/// does not reset every counter and histogram: written at stop and periodically, read
/// before the daemon reports ready.
///
/// Families are stored by name and layout, services by name, so a state written by one
/// config restores into another as far as it fits: series of a family whose layout changed,
/// or of a service that is gone, are skipped and counted. Set series (members live only in
/// memory) and service liveness are not saved. Little-endian, versioned, ends with a trailer so a
/// truncated file is recognised.
public enum StateSnapshot {
    static let magic = Array("TALLYST1".utf8)
    static let trailer = Array("TALLYEND".utf8)

    public struct Summary: Sendable, Equatable {
        public var restored = 0
        /// Series whose family no longer exists with the same type, labels and buckets.
        public var skippedFamily = 0
        /// Series of services no longer configured.
        public var skippedService = 0
        /// Series refused by the limits or already present.
        public var skippedOther = 0
    }

    public struct FormatError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Every series of every service, encoded.
    public static func encode(_ registry: Registry) -> [UInt8] {
        var w = Writer()
        w.bytes(magic)
        let services = registry.services.names
        w.u32(services.count)
        for s in services { w.string(s) }
        // Shards are copied under their locks (copy-on-write), families read after them.
        let stores = (0..<registry.shardCount).map { i in registry.withShard(i) { $0 } }
        let families = registry.families.snapshot()
        w.u32(families.count)
        for f in families {
            w.string(f.name)
            w.string(f.help)
            w.u8(UInt8(FamilyType.allCases.firstIndex(of: f.type)!))
            w.u8(f.isDocumented ? 1 : 0)
            w.u8(f.retired ? 1 : 0)
            let labels = f.labels ?? []
            w.u32(labels.count)
            for l in labels { w.string(l) }
            w.u32(f.buckets.count)
            for b in f.buckets { w.f64(b) }
            w.u32(f.droppedLabels.count)
            for l in f.droppedLabels { w.string(l) }
            w.u8(FamilyUnitCode.code(f.unit))
        }
        // Set series are left out: their members are not saved, and a restored count could
        // never fall back as the window moves on.
        var count = 0
        for shard in stores { for store in shard { count += store.count - store.sets.count } }
        w.u64(count)
        for shard in stores {
            for (service, store) in shard.enumerated() {
                for i in 0..<store.count {
                    let start = store.offset(at: i)
                    if store.sets[UInt32(start)] != nil { continue }
                    let end = store.end(at: i)
                    w.u32(service)
                    store.table.withKey(at: i) { key in
                        w.u32(SeriesKey.family(of: key))
                        w.u32(key.count - SeriesKey.familyIDSize)
                        w.bytes(SeriesKey.labels(of: key))
                    }
                    w.u32(end - start)
                    for v in store.values[start..<end] { w.f64(v) }
                }
            }
        }
        w.bytes(trailer)
        return w.out
    }

    /// Folds a saved state into `registry` (meant for an empty one, before ingest starts);
    /// restored series count as updated at `now` for their ttl.
    public static func restore(_ bytes: [UInt8], into registry: Registry, now: Double) throws(FormatError) -> Summary {
        var r = Reader(bytes: bytes)
        guard try r.bytes(magic.count) == magic else {
            throw FormatError(description: "not a tallyd state file (or another version)")
        }
        guard bytes.count >= magic.count + trailer.count, Array(bytes.suffix(trailer.count)) == trailer else {
            throw FormatError(description: "the file is truncated (no trailer)")
        }
        let serviceCount = try r.count()
        var serviceMap: [Int?] = []
        for _ in 0..<serviceCount {
            let name = try r.string()
            serviceMap.append(registry.services.index(of: name))
        }
        let familyCount = try r.count()
        var familyMap: [Int?] = []
        var widths: [Int] = []
        var descriptors: [FamilyDescriptor] = []
        for _ in 0..<familyCount {
            let name = try r.string()
            let help = try r.string()
            let typeCode = Int(try r.u8())
            guard typeCode < FamilyType.allCases.count else {
                throw FormatError(description: "unknown family type \(typeCode)")
            }
            let documented = try r.u8() == 1
            let retired = try r.u8() == 1
            var labels: [String] = []
            for _ in 0..<(try r.count()) { labels.append(try r.string()) }
            var buckets: [Double] = []
            for _ in 0..<(try r.count()) { buckets.append(try r.f64()) }
            var dropped: [String] = []
            for _ in 0..<(try r.count()) { dropped.append(try r.string()) }
            let unit = FamilyUnitCode.unit(try r.u8())
            var d = FamilyDescriptor(
                name: name, type: FamilyType.allCases[typeCode], help: help, labels: documented ? labels : nil,
                buckets: buckets, unit: unit)
            d.droppedLabels = dropped
            widths.append(d.slotWidth)
            descriptors.append(d)
            familyMap.append(retired ? nil : registry.families.adopt(d))
        }
        var summary = Summary()
        let stamp = registry.stamp(now)
        let seriesCount = try r.u64()
        var key: [UInt8] = []
        var values: [Double] = []
        for _ in 0..<seriesCount {
            let service = try r.index(serviceCount)
            let family = try r.index(familyCount)
            let labels = try r.bytes(try r.count())
            let width = try r.count()
            values.removeAll(keepingCapacity: true)
            for _ in 0..<width { values.append(try r.f64()) }
            guard let s = serviceMap[service] else {
                summary.skippedService += 1
                continue
            }
            guard let f = familyMap[family], widths[family] == width else {
                summary.skippedFamily += 1
                continue
            }
            guard isValidKey(labels, descriptor: descriptors[family]) else {
                summary.skippedOther += 1
                continue
            }
            SeriesKey.make(family: f, labels: labels, into: &key)
            if registry.restoreSeries(service: s, family: f, key: key, values: values, stamp: stamp) {
                summary.restored += 1
            } else {
                summary.skippedOther += 1
            }
        }
        return summary
    }

    /// Whether saved label data has the layout `SeriesStore` documents for `d` (a damaged
    /// file must not put a key the renderer cannot walk into the registry): documented, one
    /// NUL-ended UTF-8 value per label; undocumented, `name SOH value NUL` pairs with valid,
    /// strictly ascending label names.
    static func isValidKey(_ data: [UInt8], descriptor d: FamilyDescriptor) -> Bool {
        guard data.isEmpty || data.last == 0 else { return false }
        let parts = data.split(separator: 0, omittingEmptySubsequences: false).dropLast()
        if let labels = d.labels {
            guard parts.count == labels.count else { return false }
            return parts.allSatisfy { String(validating: $0, as: UTF8.self) != nil }
        }
        var previous: String? = nil
        for p in parts {
            guard let sep = p.firstIndex(of: 1), let name = String(validating: p[p.startIndex..<sep], as: UTF8.self),
                MetricName.isValidLabelName(name), !MetricName.isReservedLabel(name),
                String(validating: p[(sep + 1)...], as: UTF8.self) != nil
            else { return false }
            if let previous, previous >= name { return false }
            previous = name
        }
        return true
    }

    enum FamilyUnitCode {
        static func code(_ u: FamilyUnit) -> UInt8 { u == .seconds ? 1 : u == .bytes ? 2 : 0 }
        static func unit(_ c: UInt8) -> FamilyUnit { c == 1 ? .seconds : c == 2 ? .bytes : FamilyUnit.none }
    }

    struct Writer {
        var out: [UInt8] = []
        mutating func u8(_ v: UInt8) { out.append(v) }
        mutating func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { out.append(contentsOf: $0) } }
        mutating func u64(_ v: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { out.append(contentsOf: $0) } }
        mutating func f64(_ v: Double) { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        mutating func bytes(_ b: [UInt8]) { out.append(contentsOf: b) }
        mutating func bytes(_ b: UnsafeRawBufferPointer) { out.append(contentsOf: b) }
        mutating func string(_ s: String) {
            u32(s.utf8.count)
            out.append(contentsOf: s.utf8)
        }
    }

    struct Reader {
        let bytes: [UInt8]
        var at = 0

        mutating func bytes(_ n: Int) throws(FormatError) -> [UInt8] {
            guard n >= 0, n <= bytes.count - at else {
                throw FormatError(description: "the file is truncated at byte \(at)")
            }
            defer { at += n }
            return Array(bytes[at..<at + n])
        }
        mutating func u8() throws(FormatError) -> UInt8 { try bytes(1)[0] }
        mutating func u32() throws(FormatError) -> UInt32 {
            let b = try bytes(4)
            return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
        }
        mutating func u64() throws(FormatError) -> UInt64 {
            let lo = UInt64(try u32())
            return lo | UInt64(try u32()) << 32
        }
        mutating func f64() throws(FormatError) -> Double { Double(bitPattern: try u64()) }
        /// A count or length: never more than the bytes left, so a corrupt one cannot allocate wildly.
        mutating func count() throws(FormatError) -> Int {
            let n = Int(try u32())
            guard n <= bytes.count - at else {
                throw FormatError(description: "a length of \(n) at byte \(at - 4) runs past the end")
            }
            return n
        }
        mutating func index(_ limit: Int) throws(FormatError) -> Int {
            let i = Int(try u32())
            guard i < limit else { throw FormatError(description: "index \(i) out of range at byte \(at - 4)") }
            return i
        }
        mutating func string() throws(FormatError) -> String {
            String(decoding: try bytes(try count()), as: UTF8.self)
        }
    }
}
