/// Finding one byte in a buffer eight bytes at a time (SWAR): StatsD lines are scanned for
/// `\n`, `|`, `,` and `:` many times, and most runs between them are longer than a word.
public enum ByteScan {
    /// The index of the first `byte` in `p[from..<to]`, or `to` when there is none.
    @inline(__always)
    public static func find(_ byte: UInt8, _ p: UnsafeRawBufferPointer, from: Int, to: Int) -> Int {
        var i = from
        let pattern = UInt64(byte) &* 0x0101_0101_0101_0101
        while i &+ 8 <= to {
            let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ pattern
            // A zero byte in w is a match; the lowest flagged byte is always a real one.
            let t = (w &- 0x0101_0101_0101_0101) & ~w & 0x8080_8080_8080_8080
            if t != 0 { return i &+ (t.trailingZeroBitCount >> 3) }
            i &+= 8
        }
        guard i < to else { return to }
        if i &+ 8 <= p.count {
            // Fewer than 8 bytes left before `to`, but the buffer goes on: one more word, and
            // a match past `to` is no match.
            let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ pattern
            let t = (w &- 0x0101_0101_0101_0101) & ~w & 0x8080_8080_8080_8080
            let j = t == 0 ? to : i &+ (t.trailingZeroBitCount >> 3)
            return j < to ? j : to
        }
        while i < to {
            if p[i] == byte { return i }
            i &+= 1
        }
        return to
    }
}
