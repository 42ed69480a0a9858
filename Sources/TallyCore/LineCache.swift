/// The lines an ingestor folded before, by their bytes without the value: what the fold
/// worked out for them (service, family, series key and its hash), so that the next line of
/// the same shape skips the tag scan, the label matching and the key building.
///
/// Senders repeat themselves: a counter or a timer of one series is sent with the same name,
/// type, rate and tags every time, and only the value changes. A line `name:VALUE|rest` is
/// cut at its first `:` and the first `|` after it; `name:` and `|rest` together are the
/// shape. A hit compares those bytes exactly (not only their hash), so it is the same line
/// but for the value, and the value is parsed and checked as always. The registry update
/// is the ordinary one (`Registry.apply` by key and hash): limits, expiry, generations and
/// refusals behave as on a miss.
///
/// Only lines that folded without anything to count besides the line are kept: no trace or
/// span id (those differ per line anyway), no set, no special family, no unknown field, no
/// valueless, duplicate or dropped tag, a key and shape that fit one slot. A catalogue swap
/// (`FoldState.dropCaches`) forgets every entry.
///
/// Two-way sets of `slotSize`-byte slots (a new entry goes first, the older one moves
/// over), allocated with the first line kept and doubled (up to `maxCapacity` slots) while
/// entries evict each other often. When almost nothing hits
/// (many more series than slots, in random order) the cache stands aside for a while, so a
/// high-cardinality stream pays only for the occasional probe window.
import CTallyCPU

struct LineCache {
    static let slotSize = 256
    /// hash 8, epoch 4, bound 4, family 4, service 2, prefix 1, suffix 1, key 1, kind 1,
    /// pad 6, sample rate 8, key hash 8, series hint 8 (`SeriesHint`): the bytes follow.
    static let headerSize = 56
    static let roomPerSlot = slotSize - headerSize
    static let initialCapacity = 64
    static let maxCapacity = 16384
    /// Lines per window of the hit-rate check, and lines the cache stands aside for after a
    /// window that hit less than one line in `minHitShare`. A hit saves about 90 ns, a miss
    /// (lookup, then the slot written) costs about 70 ns once the table is larger than the
    /// CPU's caches: below one hit in two lines the cache costs more than it saves (100k
    /// random series: 16 % hits, 45 ns per line lost). The window at full size, every
    /// `standAside` lines, is 3 % of a high-cardinality stream.
    static let window = 2 * maxCapacity
    static let standAside = 1024 * 1024
    static let minHitShare = 2
    /// More than one lookup in `evictionShare` evicting an entry (in the window so far, once
    /// it holds as many lookups as there are slots) doubles the table: a rate, so that a few
    /// shapes sharing a set do not grow it without end (a table larger than its shapes need
    /// costs cache and TLB misses on every line).
    static let evictionShare = 32

    private var storage: RawBuffer<UInt8>?
    private var mask = 0
    /// Entries of an older epoch are empty: invalidation is one increment.
    private var epoch: UInt32 = 1
    private var evictions = 0
    private var lookups = 0
    private var hits = 0
    /// Lines left before the next lookup, while standing aside.
    private var resting = 0
    /// Totals, for tests and the benchmarks.
    private(set) var hitsTotal = 0
    private(set) var insertsTotal = 0

    var capacity: Int { storage == nil ? 0 : mask + 1 }

    /// Resting: `shape` would find nothing, and the ingest loop takes the single pass.
    var isResting: Bool { resting > 0 }

    /// `lines` lines went by while resting (the single pass does not ask for their shapes).
    @inline(__always)
    mutating func rest(lines: Int) {
        if resting != .max { resting = resting > lines ? resting &- lines : 0 }
    }

    /// Off for good (tests compare folds with and without the cache): it rests forever.
    var isEnabled: Bool {
        get { resting != .max }
        set { resting = newValue ? 0 : .max }
    }

    /// Where a line was cut (`colon`: its first `:`; `bar`: the first `|` after it) and the
    /// hash of its shape; `valid` is false for lines the cache cannot hold.
    struct Shape {
        var valid = false
        var colon = 0
        var bar = 0
        var hash: UInt64 = 0
    }

    /// One slot's fields, in place.
    struct Entry {
        let raw: UnsafeMutableRawPointer

        var hash: UInt64 { raw.load(as: UInt64.self) }
        var epoch: UInt32 { raw.load(fromByteOffset: 8, as: UInt32.self) }
        var bound: Int32 { raw.load(fromByteOffset: 12, as: Int32.self) }
        var family: Int { Int(raw.load(fromByteOffset: 16, as: Int32.self)) }
        var service: Int { Int(raw.load(fromByteOffset: 20, as: UInt16.self)) }
        var prefixLength: Int { Int(raw.load(fromByteOffset: 22, as: UInt8.self)) }
        var suffixLength: Int { Int(raw.load(fromByteOffset: 23, as: UInt8.self)) }
        var keyLength: Int { Int(raw.load(fromByteOffset: 24, as: UInt8.self)) }
        var kind: SampleKind { SampleKind(rawValue: raw.load(fromByteOffset: 25, as: UInt8.self)).unsafelyUnwrapped }
        var sampleRate: Double { raw.load(fromByteOffset: 32, as: Double.self) }
        var keyHash: UInt64 { raw.load(fromByteOffset: 40, as: UInt64.self) }
        /// Where the registry found the series last (set by the fold after each update).
        var hint: SeriesHint {
            get {
                SeriesHint(
                    index: raw.load(fromByteOffset: 48, as: UInt32.self),
                    layout: raw.load(fromByteOffset: 52, as: UInt32.self))
            }
            nonmutating set {
                raw.storeBytes(of: newValue.index, toByteOffset: 48, as: UInt32.self)
                raw.storeBytes(of: newValue.layout, toByteOffset: 52, as: UInt32.self)
            }
        }
        var bytes: UnsafeMutableRawPointer { raw + LineCache.headerSize }
        var key: UnsafeRawPointer { UnsafeRawPointer(bytes + prefixLength + suffixLength) }
    }

    /// Forgets every entry (the catalogue, the services or the settings changed).
    mutating func invalidate() {
        epoch &+= 1
        if epoch == 0 {
            // After 2^32 swaps an old entry could look current: clear them for real.
            if let storage { storage.raw.initializeMemory(as: UInt8.self, repeating: 0, count: storage.capacity) }
            epoch = 1
        }
    }

    /// The line's shape, or an invalid one when the cache is resting or the line cannot be
    /// cut; counts the lookup for the hit-rate window.
    @inline(__always)
    mutating func shape(_ line: UnsafeRawBufferPointer, seed: UInt64) -> Shape {
        if resting > 0 {
            if resting != .max { resting &-= 1 }
            return Shape()
        }
        let n = line.count
        let colon = ByteScan.find(UInt8(ascii: ":"), line, from: 0, to: n)
        guard colon < 256 && colon < n else { return Shape() }
        let bar = ByteScan.find(UInt8(ascii: "|"), line, from: colon &+ 1, to: n)
        guard bar < n && n &- bar < 256 else { return Shape() }
        let base = line.baseAddress!
        let h = Self.hash(base, count: colon &+ 1, seed: seed)
        let hash = ByteHash.mix(Self.hash(base + bar, count: n &- bar, seed: h)) | 1
        lookups &+= 1
        if lookups == Self.window { endWindow() }
        return Shape(valid: true, colon: colon, bar: bar, hash: hash)
    }

    /// Every `window` lookups: stand aside if almost nothing hit while the cache was as large
    /// as it gets.
    private mutating func endWindow() {
        if hits &* Self.minHitShare < lookups && capacity == Self.maxCapacity { resting = Self.standAside }
        lookups = 0
        hits = 0
        evictions = 0
    }

    /// Two words a step in two independent lanes: a shape is hashed on every line, and one
    /// lane's multiply-and-shift chain is what a single-lane hash waits for. Not finalised
    /// (the caller mixes once, after both parts).
    @inline(__always)
    static func hash(_ p: UnsafeRawPointer, count n: Int, seed: UInt64) -> UInt64 {
        let k0: UInt64 = 0x9E37_79B9_7F4A_7C15
        let k1: UInt64 = 0xC2B2_AE3D_27D4_EB4F
        var a = seed ^ (UInt64(truncatingIfNeeded: n) &* k0)
        var b = seed &+ k1
        var i = 0
        while i &+ 16 <= n {
            a = (a ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* k0
            b = (b ^ p.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)) &* k1
            a ^= a >> 32
            b ^= b >> 29
            i &+= 16
        }
        if i &+ 8 <= n {
            a = (a ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* k0
            a ^= a >> 32
            i &+= 8
        }
        if i < n {
            var v: UInt64 = 0
            if n >= 8 {
                // The last 8 bytes in one load, shifting out the ones already hashed.
                v =
                    p.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
                    >> UInt64(truncatingIfNeeded: (8 &- (n &- i)) &* 8)
            } else {
                var shift: UInt64 = 0
                while i < n {
                    v |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) << shift
                    shift &+= 8
                    i &+= 1
                }
            }
            b = (b ^ v) &* k1
        }
        return a ^ (b << 23 | b >> 41)
    }

    /// The first slot of `hash`'s set (the second follows it).
    @inline(__always)
    func set(_ hash: UInt64) -> UnsafeMutableRawPointer {
        storage.unsafelyUnwrapped.raw + (Int(truncatingIfNeeded: hash) & mask & ~1) &* Self.slotSize
    }

    /// Starts loading `shape`'s set: its first slot's header, bytes and key.
    @inline(__always)
    func prefetch(_ shape: Shape) {
        guard storage != nil else { return }
        let first = set(shape.hash)
        tally_prefetch(first)
        tally_prefetch(first + 64)
        tally_prefetch(first + 128)
    }

    /// The entry for `line`'s shape, if it was kept with the same bound service.
    @inline(__always)
    mutating func find(_ shape: Shape, _ line: UnsafeRawBufferPointer, bound: Int32) -> Entry? {
        guard storage != nil else { return nil }
        let first = set(shape.hash)
        if let e = match(Entry(raw: first), shape, line, bound: bound)
            ?? match(Entry(raw: first + Self.slotSize), shape, line, bound: bound)
        {
            hits &+= 1
            hitsTotal &+= 1
            return e
        }
        return nil
    }

    @inline(__always)
    func match(_ e: Entry, _ shape: Shape, _ line: UnsafeRawBufferPointer, bound: Int32) -> Entry? {
        let prefix = shape.colon &+ 1
        let suffix = line.count &- shape.bar
        guard
            e.hash == shape.hash && e.epoch == epoch && e.bound == bound && e.prefixLength == prefix
                && e.suffixLength == suffix
        else { return nil }
        let base = line.baseAddress!
        guard tally_bytes_equal(e.bytes, base, prefix) != 0,
            tally_bytes_equal(e.bytes + prefix, base + shape.bar, suffix) != 0
        else { return nil }
        return e
    }

    /// Keeps what the fold found for `line` (cut as `shape`), when it fits a slot; the entry,
    /// valid until the next insert (which may move the table).
    @discardableResult
    mutating func insert(
        _ shape: Shape, _ line: UnsafeRawBufferPointer, bound: Int32, service: Int, family: Int, kind: SampleKind,
        sampleRate: Double, key: UnsafeRawPointer, keyLength: Int, keyHash: UInt64
    ) -> Entry? {
        let prefix = shape.colon &+ 1
        let suffix = line.count &- shape.bar
        guard prefix &+ suffix &+ keyLength <= Self.roomPerSlot, keyLength < 256, service <= Int(UInt16.max),
            family <= Int(Int32.max)
        else { return nil }
        if storage == nil { allocate(Self.initialCapacity) }
        var first = set(shape.hash)
        if Entry(raw: first).epoch == epoch && Entry(raw: first + Self.slotSize).epoch == epoch {
            evictions &+= 1
            // Judged once this window has seen as many lookups as there are slots.
            if lookups >= capacity && evictions &* Self.evictionShare > lookups && capacity < Self.maxCapacity {
                allocate(capacity * 2)
                first = set(shape.hash)
            }
        }
        // The newest entry first: the one it pushes over is the set's older one.
        if Entry(raw: first).epoch == epoch {
            (first + Self.slotSize).copyMemory(from: first, byteCount: Self.slotSize)
        }
        let e = Entry(raw: first)
        let r = e.raw
        r.storeBytes(of: shape.hash, as: UInt64.self)
        r.storeBytes(of: epoch, toByteOffset: 8, as: UInt32.self)
        r.storeBytes(of: bound, toByteOffset: 12, as: Int32.self)
        r.storeBytes(of: Int32(family), toByteOffset: 16, as: Int32.self)
        r.storeBytes(of: UInt16(service), toByteOffset: 20, as: UInt16.self)
        r.storeBytes(of: UInt8(prefix), toByteOffset: 22, as: UInt8.self)
        r.storeBytes(of: UInt8(suffix), toByteOffset: 23, as: UInt8.self)
        r.storeBytes(of: UInt8(keyLength), toByteOffset: 24, as: UInt8.self)
        r.storeBytes(of: kind.rawValue, toByteOffset: 25, as: UInt8.self)
        r.storeBytes(of: sampleRate, toByteOffset: 32, as: Double.self)
        r.storeBytes(of: keyHash, toByteOffset: 40, as: UInt64.self)
        e.hint = SeriesHint()
        let base = line.baseAddress!
        e.bytes.copyMemory(from: base, byteCount: prefix)
        (e.bytes + prefix).copyMemory(from: base + shape.bar, byteCount: suffix)
        (e.bytes + prefix + suffix).copyMemory(from: key, byteCount: keyLength)
        insertsTotal &+= 1
        return e
    }

    /// A fresh, empty table of `slots` slots (a power of two).
    private mutating func allocate(_ slots: Int) {
        let buffer = RawBuffer<UInt8>(capacity: slots * Self.slotSize)
        buffer.raw.initializeMemory(as: UInt8.self, repeating: 0, count: buffer.capacity)
        storage = buffer
        mask = slots - 1
        // A new window at the new size: the lookups that missed while the smaller table
        // thrashed (and the empty table's first misses) say nothing about this one.
        lookups = 0
        hits = 0
        evictions = 0
    }
}
