/// Strict UTF-8 checks (no overlongs, no surrogates, nothing past U+10FFFF).
public enum UTF8Validation {
    /// True if `p[range]` is valid UTF-8 without NUL bytes.
    @inline(__always)
    public static func isValidWithoutNUL(_ p: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        var i = range.lowerBound
        let end = range.upperBound
        // ASCII fast path, 8 bytes at a time.
        while i + 8 <= end {
            let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let hasHigh = w & 0x8080_8080_8080_8080 != 0
            let hasZero = (w &- 0x0101_0101_0101_0101) & ~w & 0x8080_8080_8080_8080 != 0
            if hasHigh || hasZero { break }
            i += 8
        }
        while i < end {
            let b = p[i]
            if b == 0 { return false }
            if b < 0x80 {
                i += 1
                continue
            }
            let len = sequenceLength(p, at: i, end: end)
            if len == 0 { return false }
            i += len
        }
        return true
    }

    /// Length of the valid multi-byte sequence at `i`, 1 for ASCII, 0 if invalid.
    public static func sequenceLength(_ p: UnsafeRawBufferPointer, at i: Int, end: Int? = nil) -> Int {
        let end = end ?? p.count
        let b0 = p[i]
        if b0 < 0x80 { return 1 }
        @inline(__always) func cont(_ j: Int) -> Bool { j < end && p[j] & 0xC0 == 0x80 }
        switch b0 {
        case 0xC2...0xDF:
            return cont(i + 1) ? 2 : 0
        case 0xE0:
            return i + 1 < end && (0xA0...0xBF).contains(p[i + 1]) && cont(i + 2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return cont(i + 1) && cont(i + 2) ? 3 : 0
        case 0xED:
            return i + 1 < end && (0x80...0x9F).contains(p[i + 1]) && cont(i + 2) ? 3 : 0
        case 0xF0:
            return i + 1 < end && (0x90...0xBF).contains(p[i + 1]) && cont(i + 2) && cont(i + 3) ? 4 : 0
        case 0xF1...0xF3:
            return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0
        case 0xF4:
            return i + 1 < end && (0x80...0x8F).contains(p[i + 1]) && cont(i + 2) && cont(i + 3) ? 4 : 0
        default:
            return 0
        }
    }
}
