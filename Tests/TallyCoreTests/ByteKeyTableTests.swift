import Testing

@testable import TallyCore

/// The key table's slots carry the top byte of each key's hash (a probe past another key
/// does not load its entry) until the table holds more entries than a tag leaves room for.
@Suite struct ByteKeyTableTests {
    /// Keys and the hashes they are inserted with: groups of keys share a whole hash (they
    /// meet on one probe path and only the bytes tell them apart), others share the slot
    /// bits but not the tag byte, others share the tag byte but not the slot.
    static func keys(_ n: Int) -> [(key: [UInt8], hash: UInt64)] {
        (0..<n).map { i in
            let key = Array("key-\(i)".utf8)
            switch i % 4 {
            case 0: return (key, 0x1234_5678)  // the same hash as every fourth key
            case 1: return (key, UInt64(i % 251) << 56 | 0x5678)  // one slot, tags differ
            case 2: return (key, 0xAB00_0000_0000_0000 | UInt64(i))  // one tag, slots differ
            default: return (key, hash(key))
            }
        }
    }

    static func hash(_ key: [UInt8]) -> UInt64 { key.withUnsafeBytes { ByteHash.hash($0) } }

    func check(_ table: ByteKeyTable, _ keys: [(key: [UInt8], hash: UInt64)]) {
        for (i, k) in keys.enumerated() {
            k.key.withUnsafeBytes { b in #expect(table.find(b, hash: k.hash) == i, "key \(i)") }
        }
        for (k, hash) in [("absent", UInt64(0x1234_5678)), ("absent-2", 0xAB00_0000_0000_0002), ("x", 7)] {
            Array(k.utf8).withUnsafeBytes { b in #expect(table.find(b, hash: hash) == nil, "\(k)") }
        }
    }

    @Test func collidingHashesAreFoundTaggedAndUntagged() {
        let keys = Self.keys(3000)
        // Tagged all the way, and one that drops its tags at 1000 entries (like a store past 16M).
        for limit in [ByteKeyTable.defaultTaggedLimit, 1000] {
            var t = ByteKeyTable(capacity: 1, taggedLimit: limit)
            for (i, k) in keys.enumerated() {
                k.key.withUnsafeBytes { b in
                    #expect(t.find(b, hash: k.hash) == nil)
                    #expect(t.insert(b, hash: k.hash) == i)
                }
                if i == 999 || i == 1000 { check(t, Array(keys[...i])) }
            }
            check(t, keys)
            #expect(t.count == keys.count)
        }
    }

    /// The entry a prefetch picks is the one `find` would compare first: for a key alone on
    /// its probe path, the key's own.
    @Test func theFirstCandidateIsTheKeysOwnEntry() {
        var t = ByteKeyTable(capacity: 1)
        var own = 0
        let keys = (0..<5000).map { (Array("k\($0)".utf8), Self.hash(Array("k\($0)".utf8))) }
        for (key, hash) in keys { key.withUnsafeBytes { _ = t.insert($0, hash: hash) } }
        for (i, (_, hash)) in keys.enumerated() where t.firstCandidate(hash: hash) == i { own += 1 }
        // A key whose path starts at another key with the same top byte (1 in 256) is the exception.
        #expect(own > 4900, "\(own) of 5000")
        var untagged = ByteKeyTable(capacity: 1, taggedLimit: 10)
        for (key, hash) in keys { key.withUnsafeBytes { _ = untagged.insert($0, hash: hash) } }
        check(untagged, keys.map { ($0.0, $0.1) })
    }
}
