import CTallyCPU

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fast seeded 64-bit hash over raw bytes (8 bytes per step, murmur-style finaliser).
/// The seed is random per process so that senders cannot aim collisions at one bucket.
public enum ByteHash {
    public static let processSeed: UInt64 = UInt64.random(in: 1...UInt64.max)

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    public static func hash(_ p: UnsafeRawBufferPointer, seed: UInt64 = processSeed) -> UInt64 {
        let n = p.count
        var h = seed ^ (UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15)
        var i = 0
        while i &+ 8 <= n {
            let v = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 32
            i &+= 8
        }
        if i < n {
            var v: UInt64 = 0
            if n >= 8 {
                // The last 8 bytes in one load; shifting out the ones already hashed.
                v =
                    p.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
                    >> UInt64(truncatingIfNeeded: (8 &- (n &- i)) &* 8)
            } else {
                var shift: UInt64 = 0
                while i < n {
                    v |= UInt64(p[i]) << shift
                    shift &+= 8
                    i &+= 1
                }
            }
            h = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
        }
        return mix(h)
    }

    /// Byte equality; up to 16 bytes (label names, tag keys) with two overlapping word
    /// compares instead of a call to memcmp.
    @inline(__always)
    static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count n: Int) -> Bool {
        if n >= 8 && n <= 16 {
            return a.loadUnaligned(as: UInt64.self) == b.loadUnaligned(as: UInt64.self)
                && a.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
                    == b.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
        }
        if n >= 4 && n < 8 {
            return a.loadUnaligned(as: UInt32.self) == b.loadUnaligned(as: UInt32.self)
                && a.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
                    == b.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
        }
        // Series keys (30 to 100 bytes): 16 bytes a step, inline, no call.
        return tally_bytes_equal(a, b, n) != 0
    }
}
