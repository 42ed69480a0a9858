import CTallyCPU
import Synchronization

/// The series of one service inside one shard: keys in a byte table, state in flat arrays.
///
/// A series key is the family id (4 bytes, little endian) followed by its label data:
/// for documented families the label values in catalogue order, each ended by NUL; for
/// undocumented families `name SOH value NUL` pairs sorted by name. NUL never occurs in an
/// accepted line, so keys are unambiguous and sort in label order.
public struct SeriesStore: Sendable {
    /// The keys; each entry's value word is the offset of the series' first Double in
    /// `values`, its stamp word when the series was last updated, in `Registry` stamps
    /// (tenths of a second).
    var table = ByteKeyTable(capacity: 64)
    /// Counter/gauge: the value. Histogram: per-bucket counts, sum, count. Summary: sum, count.
    var values: [Double] = []
    /// Set series (`|s`) by value offset. The series' value is the number of members seen
    /// within the set window.
    var sets: [UInt32: SetMembers] = [:]
    /// The latest exemplar per value slot: a counter's value, or a histogram bucket
    /// (`offset + bucket`, the +Inf bucket at `offset + bucket count`).
    public internal(set) var exemplars: [UInt32: Exemplar] = [:]

    /// Member hash → stamp of its last sighting, and a lower bound of those stamps, so the
    /// once-a-second prune skips a set with nothing old enough in O(1).
    struct SetMembers: Sendable {
        var lastSeen: [UInt64: UInt32] = [:]
        var oldest = UInt32.max
    }

    /// Which incarnation of a store this is: every store made (and every rebuild, which is
    /// a new store) takes the next number, so an index remembered from it (`SeriesHint`) is
    /// known to name the same series exactly while the layout is the same; an expiry's
    /// rebuild moves the series and changes it.
    let layout: UInt32

    static let layouts = Atomic<UInt32>(0)

    public init() {
        var next = Self.layouts.add(1, ordering: .relaxed).newValue
        // 0 is "no hint"; after 2^32 stores the numbers come round again, never to 0.
        if next == 0 { next = Self.layouts.add(1, ordering: .relaxed).newValue }
        layout = next
    }

    public var count: Int { table.count }

    /// The index of the series `key`, if it exists.
    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        table.find(key, hash: hash)
    }

    /// Creates the series `key` (which must be absent) with `width` zeroed Doubles; its index.
    mutating func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, width: Int) -> Int {
        let index = table.insert(key, hash: hash, value: UInt32(values.count))
        values.append(contentsOf: repeatElement(0, count: width))
        return index
    }

    /// Starts loading the key bytes and the values of the series `hash` most likely is (see
    /// `ByteKeyTable.prefetchKey`). `mutating` to be called in place, like the table's.
    @inline(__always)
    mutating func prefetchKey(hash: UInt64) {
        guard let offset = table.prefetchKey(hash: hash) else { return }
        values.withUnsafeBufferPointer { tally_prefetch($0.baseAddress! + Int(offset)) }
    }

    /// Where the values of the series at `index` start in `values`.
    @inline(__always)
    func offset(at index: Int) -> Int { Int(table.value(at: index)) }

    /// Where the values of the series at `index` end in `values`.
    func end(at index: Int) -> Int { index + 1 < count ? offset(at: index + 1) : values.count }

    /// When the series at `index` was last updated.
    @inline(__always)
    func stamp(at index: Int) -> UInt32 { table.stamp(at: index) }

    mutating func setStamp(_ stamp: UInt32, at index: Int) { table.setStamp(stamp, at: index) }

    /// The family id of the series at `index`.
    func family(at index: Int) -> Int {
        table.withKey(at: index) { SeriesKey.family(of: $0) }
    }

    public var allocatedBytes: Int {
        table.allocatedBytes + values.capacity * 8
            + exemplars.count * 96  // an estimate: the entry, and an id buffer of ~50 bytes
    }

    /// Adds a member to the set series at `offset`; false when the set is full.
    mutating func addMember(_ member: UInt64, at offset: Int, stamp: UInt32, max: Int) -> Bool {
        let k = UInt32(offset)
        if let set = sets[k], set.lastSeen.count >= max, set.lastSeen[member] == nil { return false }
        sets[k, default: SetMembers()].lastSeen[member] = stamp
        sets[k]!.oldest = Swift.min(sets[k]!.oldest, stamp)
        values[offset] = Double(sets[k]!.lastSeen.count)
        return true
    }

    /// Forgets set members not seen since `oldest` and refreshes the sets' values.
    mutating func pruneSets(oldest: UInt32) {
        guard !sets.isEmpty else { return }
        for k in Array(sets.keys) where sets[k]!.oldest < oldest {
            let kept = sets[k]!.lastSeen.filter { $0.value >= oldest }
            sets[k] = SetMembers(lastSeen: kept, oldest: kept.values.min() ?? UInt32.max)
            values[Int(k)] = Double(kept.count)
        }
    }

    /// Removes every series for which `remove(family, stamp)` is true, rebuilding the store;
    /// the family ids of the removed series (one entry per series).
    mutating func remove(where remove: (_ family: Int, _ stamp: UInt32) -> Bool) -> [Int] {
        var removed: [Int] = []
        var keep: [Int] = []
        for i in 0..<count {
            let f = family(at: i)
            if remove(f, stamp(at: i)) { removed.append(f) } else { keep.append(i) }
        }
        guard !removed.isEmpty else { return [] }
        var rebuilt = SeriesStore()
        rebuilt.table = ByteKeyTable(capacity: max(keep.count, 64))
        for i in keep {
            let start = offset(at: i)
            let end = end(at: i)
            let offset = table.withKey(at: i) { key in
                let index = rebuilt.insert(key, hash: table.hash(at: i), width: 0)
                rebuilt.setStamp(stamp(at: i), at: index)
                return rebuilt.offset(at: index)
            }
            rebuilt.values.append(contentsOf: values[start..<end])
            if let members = sets[UInt32(start)] { rebuilt.sets[UInt32(offset)] = members }
            if !exemplars.isEmpty {
                for slot in start..<end {
                    if let e = exemplars[UInt32(slot)] { rebuilt.exemplars[UInt32(offset + slot - start)] = e }
                }
            }
        }
        self = rebuilt
        return removed
    }
}

/// What one accepted value does to its series.
public enum SampleUpdate: Sendable {
    case add(Double)
    case set(Double)
    /// Bucket index (== bucket count for +Inf only), bucket count, value, weight (1/rate).
    case observe(bucket: Int, buckets: Int, value: Double, weight: Double)
    /// Summary without quantiles: value, weight.
    case summarize(value: Double, weight: Double)
    /// A set member, by the hash of its bytes.
    case member(UInt64)
}

extension SeriesStore {
    /// Folds `updates` into the series `key`, creating it (if `admit` allows) with `width`
    /// zeroed Doubles. One exclusive access to the store for the whole line. Returns `admit`'s
    /// refusal, `.setOverflow` when a set member did not fit, or nil. A `hint` from this
    /// layout names the series without a lookup (its stored hash must agree too); the hint
    /// is set to where the series is.
    @inline(__always)
    mutating func fold(
        _ key: UnsafeRawBufferPointer, hash: UInt64, width: Int, stamp: UInt32,
        _ updates: UnsafeBufferPointer<SampleUpdate>, setMax: Int, hint: inout SeriesHint,
        admit: () -> Registry.Refusal?
    ) -> Registry.Refusal? {
        let index: Int
        if hint.layout == layout && Int(hint.index) < table.count && table.hash(at: Int(hint.index)) == hash {
            index = Int(hint.index)
        } else if let i = table.find(key, hash: hash) {
            index = i
        } else {
            if let refusal = admit() { return refusal }
            index = insert(key, hash: hash, width: width)
        }
        hint = SeriesHint(index: UInt32(truncatingIfNeeded: index), layout: layout)
        let offset = Int(table.touch(index, stamp: stamp))
        var members = false
        values.withUnsafeMutableBufferPointer { v in
            for u in updates {
                switch u {
                case .add(let x): v[offset] += x
                case .set(let x): v[offset] = x
                case .observe(let bucket, let buckets, let value, let weight):
                    if bucket < buckets { v[offset + bucket] += weight }
                    v[offset + buckets] += value * weight
                    v[offset + buckets + 1] += weight
                case .summarize(let value, let weight):
                    v[offset] += value * weight
                    v[offset + 1] += weight
                case .member: members = true
                }
            }
        }
        guard members else { return nil }
        var overflow = false
        for case .member(let m) in updates where !addMember(m, at: offset, stamp: stamp, max: setMax) {
            overflow = true
        }
        return overflow ? .setOverflow(limit: setMax) : nil
    }

    /// The exemplar of a line's last increment or observation, on the series at `offset`;
    /// false for updates that have none (gauges, summaries, sets).
    mutating func keep(_ exemplar: ExemplarInput, offset: Int, _ update: SampleUpdate) -> Bool {
        switch update {
        case .add(let x):
            exemplars[UInt32(offset), default: Exemplar()].set(exemplar, value: x)
        case .observe(let bucket, _, let value, _):
            exemplars[UInt32(offset + bucket), default: Exemplar()].set(exemplar, value: value)
        case .set, .summarize, .member:
            return false
        }
        return true
    }
}

/// Where a series was found the last time (its index in its store, and the store's
/// `layout`): a line the `LineCache` knows carries it, so the registry update skips the key
/// table's lookup (a probe, and a compare of the whole key) while the store is unchanged.
struct SeriesHint: Equatable {
    var index: UInt32 = 0
    /// 0: no hint.
    var layout: UInt32 = 0
}
