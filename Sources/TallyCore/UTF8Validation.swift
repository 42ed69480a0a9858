import CTallyCPU

/// Strict UTF-8 checks (no overlongs, no surrogates, nothing past U+10FFFF).
public enum UTF8Validation {
    /// True if `p[range]` is valid UTF-8 without NUL bytes.
    @inline(__always)
    public static func isValidWithoutNUL(_ p: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        if isPlainASCII(p, range) { return true }
        var i = range.lowerBound
        let end = range.upperBound
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

    /// True if every byte of `p[range]` is ASCII and none is NUL, for ranges of 8 bytes or
    /// more (false for shorter ones, and false may also mean "look closer"). Branch-free, 16
    /// bytes a step from 16 on (`CTallyScan.h`), else two words, the last one overlapping:
    /// nearly every line is plain ASCII.
    @inline(__always)
    static func isPlainASCII(_ p: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        let start = range.lowerBound
        let end = range.upperBound
        guard end &- start >= 8 else { return false }
        if end &- start >= 16 { return tally_plain_ascii16(p.baseAddress! + start, end &- start) != 0 }
        let ones: UInt64 = 0x0101_0101_0101_0101
        // High bit of any byte >= 0x80, and of every zero byte (possibly of bytes above one).
        @inline(__always) func flags(_ w: UInt64) -> UInt64 { w | ((w &- ones) & ~w) }
        var acc: UInt64 = 0
        var i = start
        while i &+ 16 <= end {
            acc |= flags(p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            acc |= flags(p.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self))
            i &+= 16
        }
        if i &+ 8 <= end { acc |= flags(p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) }
        acc |= flags(p.loadUnaligned(fromByteOffset: end &- 8, as: UInt64.self))
        return acc & 0x8080_8080_8080_8080 == 0
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
