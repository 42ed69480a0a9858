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
    /// 0 = empty, otherwise entry index + 1.
    private var slots: [UInt32]
    private var mask: Int

    public init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt32](repeating: 0, count: size)
        mask = size - 1
    }

    public var count: Int { entries.count }

    /// The index of `key`, if present.
    @inline(__always)
    public func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        var slot = Int(truncatingIfNeeded: hash) & mask
        return slots.withUnsafeBufferPointer { slots in
            entries.withUnsafeBufferPointer { entries in
                arena.withUnsafeBytes { arena in
                    while true {
                        let s = slots[slot]
                        if s == 0 { return nil }
                        let e = entries[Int(s &- 1)]
                        if e.hash == hash && Int(e.length) == key.count
                            && (key.count == 0
                                || ByteHash.equal(
                                    arena.baseAddress! + Int(e.offset), key.baseAddress!, count: key.count))
                        {
                            return Int(s &- 1)
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
        if (entries.count + 1) * 2 > slots.count { grow() }
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

    /// Approximate heap bytes held, for the memory-per-series figure.
    public var allocatedBytes: Int {
        entries.capacity * MemoryLayout<Entry>.stride + arena.capacity + slots.capacity * 4
    }

    private mutating func place(index: Int, hash: UInt64) {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 { slot = (slot &+ 1) & mask }
        slots[slot] = UInt32(index + 1)
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [UInt32](repeating: 0, count: size)
        mask = size - 1
        for i in entries.indices { place(index: i, hash: entries[i].hash) }
    }
}
