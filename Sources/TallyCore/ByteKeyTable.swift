import CTallyCPU

/// An open-addressing hash table from byte strings to dense indices `0..<count`.
///
/// Keys live back to back in one arena, so a table of a million short keys is a few arrays,
/// not a million objects; a lookup hashes and compares bytes in place and allocates nothing.
/// Callers keep per-entry values in their own arrays indexed by the returned index.
public struct ByteKeyTable: Sendable {
    struct Entry: Sendable {
        var hash: UInt64
        var offset: UInt32
        var length: UInt32
        /// Two words the owner keeps with each key (`SeriesStore`: where the series' values
        /// start, and when it was last updated). In the entry, the cache miss a lookup takes
        /// anyway brings them along: kept in arrays of their own, each would cost another.
        var value: UInt32 = 0
        var stamp: UInt32 = 0
    }

    private(set) var entries: [Entry] = []
    private(set) var arena: [UInt8] = []
    /// 0 = empty, otherwise entry index + 1 in the low bits and, while the table is tagged,
    /// the top byte of the key's hash in the high 8 (see `tagMask`): a probe that meets
    /// another key's slot moves on without loading that key's entry, a cache miss in a
    /// large table (linear probing at half load visits 1.5 slots per lookup on average).
    private var slots: [UInt32]
    private var mask: Int
    /// `0xFF00_0000` while every index + 1 fits in 24 bits, then 0: the slots hold whole
    /// indices and every probe compares the entry (past `taggedLimit` entries, 16M in one
    /// store, a table pays the misses it saved before).
    private var tagMask: UInt32
    private let taggedLimit: Int
    public static let defaultTaggedLimit = 1 << 24 - 1

    /// `taggedLimit`: entries up to which slots carry a hash tag (tests make it small).
    public init(capacity: Int = 16, taggedLimit: Int = ByteKeyTable.defaultTaggedLimit) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt32](repeating: 0, count: size)
        mask = size - 1
        self.taggedLimit = min(taggedLimit, Self.defaultTaggedLimit)
        tagMask = 0xFF00_0000
    }

    /// The tag bits of `hash`'s slots (the top byte of the hash, in the slot's top byte).
    @inline(__always)
    static func tag(_ hash: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: hash >> 32) & 0xFF00_0000 }

    /// The entry index a non-empty slot holds (the slot format's one decoder; `place` encodes).
    @inline(__always)
    private func entryIndex(_ slot: UInt32) -> Int { Int((slot & ~tagMask) &- 1) }

    public var count: Int { entries.count }

    /// The index of `key`, if present.
    @inline(__always)
    public func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        var slot = Int(truncatingIfNeeded: hash) & mask
        return slots.withUnsafeBufferPointer { slots in
            entries.withUnsafeBufferPointer { entries in
                arena.withUnsafeBytes { arena in
                    let tag = Self.tag(hash) & tagMask
                    while true {
                        let s = slots[slot]
                        if s == 0 { return nil }
                        if s & tagMask == tag {
                            let index = entryIndex(s)
                            let e = entries[index]
                            if e.hash == hash && Int(e.length) == key.count
                                && (key.count == 0
                                    || ByteHash.equal(
                                        arena.baseAddress! + Int(e.offset), key.baseAddress!, count: key.count))
                            {
                                return index
                            }
                        }
                        slot = (slot &+ 1) & mask
                    }
                }
            }
        }
    }

    /// Inserts `key` (which must not be present) with its `value` word and returns its new index.
    @discardableResult
    public mutating func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, value: UInt32 = 0) -> Int {
        if entries.count >= taggedLimit && tagMask != 0 {
            tagMask = 0
            rehash(size: slots.count)
        }
        if (entries.count + 1) * 2 > slots.count { rehash(size: slots.count * 2) }
        let index = entries.count
        entries.append(Entry(hash: hash, offset: UInt32(arena.count), length: UInt32(key.count), value: value))
        arena.append(contentsOf: key)
        place(index: index, hash: hash)
        return index
    }

    /// The bytes of the key at `index`.
    public func withKey<R>(at index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let e = entries[index]
        return try arena.withUnsafeBytes { arena in
            try body(UnsafeRawBufferPointer(rebasing: arena[Int(e.offset)..<Int(e.offset) + Int(e.length)]))
        }
    }

    /// The stored hash of the key at `index`.
    public func hash(at index: Int) -> UInt64 { entries[index].hash }

    /// The owner's value word of the key at `index`.
    @inline(__always)
    public func value(at index: Int) -> UInt32 { entries[index].value }

    /// The owner's stamp word of the key at `index`.
    @inline(__always)
    public func stamp(at index: Int) -> UInt32 { entries[index].stamp }

    @inline(__always)
    public mutating func setStamp(_ stamp: UInt32, at index: Int) { entries[index].stamp = stamp }

    /// Sets the stamp word of the key at `index` and returns its value word: a fold's one
    /// access to the entry it just found.
    @inline(__always)
    mutating func touch(_ index: Int, stamp: UInt32) -> UInt32 {
        entries.withUnsafeMutableBufferPointer { e in
            e[index].stamp = stamp
            return e[index].value
        }
    }

    /// Where the slot array is and its mask: enough to prefetch a key's slot from another
    /// thread. Only ever used as a prefetch address, never read through.
    @inline(__always)
    var slotHint: (address: UInt, mask: Int) {
        (slots.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }, mask)
    }

    /// Starts loading the entry a `find` for `hash` compares first, reading the slot it
    /// starts from (the caller prefetched that slot earlier, so the read should hit): a
    /// lookup in a large table then waits for one cache miss, the key's, instead of two.
    /// (`mutating` though it writes nothing: called in place on a store behind the shard
    /// lock, it borrows the arrays; a non-mutating call copies them out, a retain and a
    /// release each.)
    @inline(__always)
    mutating func prefetchEntry(hash: UInt64) {
        guard let index = firstCandidate(hash: hash) else { return }
        entries.withUnsafeBufferPointer { tally_prefetch($0.baseAddress! + index) }
    }

    /// The index of the first entry on `hash`'s probe path whose tag matches (the one `find`
    /// compares first, and in all likelihood the key), without loading any entry.
    @inline(__always)
    func firstCandidate(hash: UInt64) -> Int? {
        let tag = Self.tag(hash) & tagMask
        return slots.withUnsafeBufferPointer { slots in
            var slot = Int(truncatingIfNeeded: hash) & mask
            while true {
                let s = slots[slot]
                if s == 0 { return nil }
                if s & tagMask == tag { return entryIndex(s) }
                slot = (slot &+ 1) & mask
            }
        }
    }

    /// The step after `prefetchEntry`: reads the entry `find` compares first and starts
    /// loading its key bytes; its value word, for the owner to prefetch what it points to
    /// (nil when the slot is empty or holds another key's entry).
    @inline(__always)
    mutating func prefetchKey(hash: UInt64) -> UInt32? {
        guard let index = firstCandidate(hash: hash) else { return nil }
        let e = entries.withUnsafeBufferPointer { $0[index] }
        guard e.hash == hash else { return nil }
        arena.withUnsafeBufferPointer { tally_prefetch($0.baseAddress! + Int(e.offset)) }
        return e.value
    }

    /// Approximate heap bytes held, for the memory-per-series figure.
    public var allocatedBytes: Int {
        entries.capacity * MemoryLayout<Entry>.stride + arena.capacity + slots.capacity * 4
    }

    private mutating func place(index: Int, hash: UInt64) {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 { slot = (slot &+ 1) & mask }
        slots[slot] = UInt32(index + 1) | (Self.tag(hash) & tagMask)
    }

    /// Every entry placed afresh in `size` slots (larger, or the same size untagged).
    private mutating func rehash(size: Int) {
        slots = [UInt32](repeating: 0, count: size)
        mask = size - 1
        for i in entries.indices { place(index: i, hash: entries[i].hash) }
    }
}
