import Synchronization

/// Counters of one ingest path: what arrived, what was folded, what was refused and why.
public struct IngestStats: Sendable {
    public var packets = 0
    public var lines = 0
    public var accepted = 0
    public var rejected = [Int](repeating: 0, count: RejectReason.allCases.count)
    /// Lines deliberately passed over, by `SkipKind` (not errors: nothing to fix).
    public var skipped = [Int](repeating: 0, count: SkipKind.allCases.count)
    /// `|field`s of accepted lines that this version does not know (ignored).
    public var unknownFields = 0
    /// Tags without `:` (DogStatsD label-less tags): they cannot become labels.
    public var valuelessTags = 0
    /// Tags given twice in one line (the last one wins).
    public var duplicateTags = 0
    /// `trace_id` tags kept as their series' exemplar; on a gauge or summary (which have
    /// none in OpenMetrics); over OpenMetrics' 128 code points.
    public var exemplarsKept = 0
    public var exemplarsNotApplicable = 0
    public var exemplarsTooLong = 0
    /// Tags a documented family does not document, per family id and tag name.
    var droppedTagKeys = ByteKeyTable(capacity: 16)
    var droppedTagCounts: [Int] = []
    /// Dropped tags past `maxDroppedTagKinds` distinct (family, tag) pairs.
    public var droppedTagsOther = 0
    /// Lines by the service they named: index 0 is "no identity" (refused before one was
    /// known), index s + 1 is service s.
    public var linesByService: [Int] = []
    /// Refusals by (service + 1, reason): `rejectedByService[(s + 1) * reasons + reason]`.
    public var rejectedByService: [Int] = []
    /// Lines by the (service, family) they resolved to, keyed `(service + 1) << 32 | family`
    /// (service -1: none known).
    public var linesByServiceFamily: [Int: Int] = [:]

    static let maxDroppedTagKinds = 1_000

    public init() {}

    public func rejected(_ reason: RejectReason) -> Int { rejected[reason.ordinal] }

    public func skipped(_ kind: SkipKind) -> Int { skipped[Int(kind.rawValue)] }

    public var rejectedTotal: Int { rejected.reduce(0, +) }

    /// Lines of `service` (nil: those with no identity).
    public func lines(service: Int?) -> Int {
        let i = (service ?? -1) + 1
        return i < linesByService.count ? linesByService[i] : 0
    }

    /// Refusals of `reason` for `service` (nil: no identity).
    public func rejected(_ reason: RejectReason, service: Int?) -> Int {
        let i = ((service ?? -1) + 1) * RejectReason.allCases.count + reason.ordinal
        return i < rejectedByService.count ? rejectedByService[i] : 0
    }

    /// Lines that resolved to family `id` (of every service, or of `service`).
    public func lines(family id: Int, service: Int? = nil) -> Int {
        if let service { return linesByServiceFamily[(service + 1) << 32 | id] ?? 0 }
        return linesByServiceFamily.reduce(0) { $1.key & 0xFFFF_FFFF == id ? $0 + $1.value : $0 }
    }

    mutating func attributeRejection(_ reason: RejectReason, service: Int) {
        let i = (service &+ 1) * RejectReason.allCases.count + reason.ordinal
        if i < rejectedByService.count { rejectedByService[i] += 1 } else { Self.grow(&rejectedByService, to: i) }
    }

    /// Grows `counts` to hold `index` and counts one there (the rare path).
    @inline(never)
    static func grow(_ counts: inout [Int], to index: Int) {
        counts.append(contentsOf: repeatElement(0, count: index + 1 - counts.count))
        counts[index] += 1
    }

    static func add(_ a: inout [Int], _ b: [Int]) {
        if a.count < b.count { a.append(contentsOf: repeatElement(0, count: b.count - a.count)) }
        for i in b.indices { a[i] += b[i] }
    }

    mutating func countDroppedTag(family: Int, tag: UnsafeRawBufferPointer, scratch: inout [UInt8]) {
        scratch.removeAll(keepingCapacity: true)
        withUnsafeBytes(of: UInt32(family).littleEndian) { scratch.append(contentsOf: $0) }
        scratch.append(contentsOf: tag)
        scratch.withUnsafeBytes { key in
            let h = ByteHash.hash(key)
            if let i = droppedTagKeys.find(key, hash: h) {
                droppedTagCounts[i] += 1
            } else if droppedTagKeys.count < Self.maxDroppedTagKinds {
                droppedTagKeys.insert(key, hash: h)
                droppedTagCounts.append(1)
            } else {
                droppedTagsOther += 1
            }
        }
    }

    /// (family id, tag name, count) of every dropped tag kind.
    public var droppedTags: [(family: Int, tag: String, count: Int)] {
        (0..<droppedTagKeys.count).map { i in
            droppedTagKeys.withKey(at: i) { key in
                let family = SeriesKey.family(of: key)
                let tag = LogEscaper.escape(SeriesKey.labels(of: key), limit: 200)
                return (family, tag, droppedTagCounts[i])
            }
        }
    }

    public mutating func merge(_ other: IngestStats) {
        packets += other.packets
        lines += other.lines
        accepted += other.accepted
        for i in rejected.indices { rejected[i] += other.rejected[i] }
        for i in skipped.indices { skipped[i] += other.skipped[i] }
        unknownFields += other.unknownFields
        valuelessTags += other.valuelessTags
        duplicateTags += other.duplicateTags
        exemplarsKept += other.exemplarsKept
        exemplarsNotApplicable += other.exemplarsNotApplicable
        exemplarsTooLong += other.exemplarsTooLong
        droppedTagsOther += other.droppedTagsOther
        Self.add(&linesByService, other.linesByService)
        Self.add(&rejectedByService, other.rejectedByService)
        linesByServiceFamily.merge(other.linesByServiceFamily, uniquingKeysWith: +)
        var scratch: [UInt8] = []
        for i in 0..<other.droppedTagKeys.count {
            other.droppedTagKeys.withKey(at: i) { key in
                let h = ByteHash.hash(key)
                if let j = droppedTagKeys.find(key, hash: h) {
                    droppedTagCounts[j] += other.droppedTagCounts[i]
                } else {
                    scratch = Array(key)
                    _ = scratch.withUnsafeBytes { droppedTagKeys.insert($0, hash: h) }
                    droppedTagCounts.append(other.droppedTagCounts[i])
                }
            }
        }
    }
}

/// One ingest path's stats behind its own lock: its receive loop takes the lock once per
/// packet, readers (the admin endpoint) take it to copy.
public final class IngestStatsCell: Sendable {
    public let transport: String
    let state = Mutex(IngestStats())
    /// Lines by service and by family: written by the loop only while it holds `state`'s lock
    /// (a packet is folded under it), read by `read()` under the same lock.
    let counters = LineCounters()

    public init(transport: String) { self.transport = transport }

    public func read() -> IngestStats {
        state.withLock { stats in
            var copy = stats
            copy.linesByService = counters.byService
            copy.linesByServiceFamily = counters.byServiceFamily
            return copy
        }
    }
}

/// A receive loop's lines by service (index 0: no identity) and by (service, family), as raw
/// counters: the per-line cost is a compare and an increment for the service, and a hash, a
/// compare and an increment for the pair, with no Array uniqueness check and no exclusivity
/// check (the buffers are `let`: allocated once, never replaced). Only touched under the
/// owning cell's lock (see `IngestStatsCell`).
///
/// Sized once: 1,024 services (a reload may add some), and 16,384 (service, family) pairs in
/// an open-addressing table; a line past either is counted in the totals (and in
/// `unattributed`) but not per service or pair.
final class LineCounters: @unchecked Sendable {
    static let services = 1_025
    static let slots = 16_384
    private let service = RawBuffer<Int>(copying: [Int](repeating: 0, count: LineCounters.services))
    private let keys = RawBuffer<Int>(copying: [Int](repeating: -1, count: LineCounters.slots))
    private let counts = RawBuffer<Int>(copying: [Int](repeating: 0, count: LineCounters.slots))
    /// [0]: lines no slot was found for; [1], [2]: the last pair's key and slot (lines of a
    /// packet mostly name one pair: they skip the hash).
    private let scratch = RawBuffer<Int>(copying: [0, -1, 0])

    /// One line's attribution; `service`/`family` are -1 when not known.
    @inline(__always)
    func count(service s: Int, family f: Int) {
        let i = s &+ 1
        // A line with a family is counted once, in its pair; `byService` adds the pairs up.
        guard f >= 0 else {
            if UInt(bitPattern: i) < UInt(Self.services) { service.pointer[i] &+= 1 }
            return
        }
        let key = i << 32 | f
        let last = scratch.pointer
        if last[1] == key {
            counts.pointer[last[2]] &+= 1
            return
        }
        countSlow(key)
    }

    @inline(never)
    private func countSlow(_ key: Int) {
        var slot = Int(truncatingIfNeeded: (UInt64(bitPattern: Int64(key)) &* 0x9E37_79B9_7F4A_7C15) >> 50)
        for _ in 0..<8 {
            let k = keys.pointer[slot]
            if k == key || k == -1 {
                if k == -1 {
                    keys.pointer[slot] = key
                    counts.pointer[slot] = 0
                }
                counts.pointer[slot] &+= 1
                scratch.pointer[1] = key
                scratch.pointer[2] = slot
                return
            }
            slot = (slot &+ 1) & (Self.slots &- 1)
        }
        scratch.pointer[0] &+= 1
    }

    /// Lines by service + 1: those without a family, plus every pair of the service.
    var byService: [Int] {
        var out = Array(UnsafeBufferPointer(start: service.pointer, count: Self.services))
        for slot in 0..<Self.slots where keys.pointer[slot] >= 0 {
            let i = keys.pointer[slot] >> 32
            if i < out.count { out[i] += counts.pointer[slot] }
        }
        var end = out.count
        while end > 0 && out[end - 1] == 0 { end -= 1 }
        return Array(out[..<end])
    }

    /// (service + 1) << 32 | family → lines.
    var byServiceFamily: [Int: Int] {
        var out: [Int: Int] = [:]
        for slot in 0..<Self.slots where keys.pointer[slot] >= 0 { out[keys.pointer[slot]] = counts.pointer[slot] }
        return out
    }

    var unattributed: Int { scratch.pointer[0] }
}

extension RejectReason {
    static let ordinals: [RejectReason: Int] = Dictionary(
        uniqueKeysWithValues: RejectReason.allCases.enumerated().map { ($1, $0) })

    public var ordinal: Int { Self.ordinals[self]! }
}

/// Lines that are valid StatsD but carry nothing for Prometheus: counted and skipped.
public enum SkipKind: UInt8, Sendable, CaseIterable {
    /// DogStatsD events, `_e{title_length,text_length}:title|text|...`.
    case event
    /// DogStatsD service checks, `_sc|name|status|...`.
    case serviceCheck
    /// `datadog.dogstatsd.client.*` telemetry the datadog clients send about themselves
    /// (with `drop_client_telemetry: true`, the default).
    case clientTelemetry

    public var label: String {
        switch self {
        case .event: return "event"
        case .serviceCheck: return "service_check"
        case .clientTelemetry: return "client_telemetry"
        }
    }
}
