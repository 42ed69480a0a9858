import Testing

@testable import TallyCore

@Suite struct ByteScanTests {
    /// Against the obvious loop, for every byte value and position in many buffers.
    @Test func findsTheFirstMatchLikeALoopWould() {
        var rng = SystemRandomNumberGenerator()
        for length in 0..<40 {
            for _ in 0..<50 {
                let bytes = (0..<length).map { _ in [UInt8(0x2C), 0x3A, 0x00, 0x80, 0xFF, 0x61][Int(rng.next() % 6)] }
                bytes.withUnsafeBytes { p in
                    for target: UInt8 in [0x2C, 0x3A, 0x00, 0x80, 0xFF, 0x61, 0x0A] {
                        let from = length == 0 ? 0 : Int(rng.next() % UInt64(length + 1))
                        let expected = (from..<length).first { bytes[$0] == target } ?? length
                        #expect(ByteScan.find(target, p, from: from, to: length) == expected)
                    }
                }
            }
        }
    }
}

@Suite struct ByteScanPairTests {
    /// The two-byte scan against two obvious loops: the first stop, and the first mark before it.
    @Test func findsTheStopAndTheFirstMarkBeforeItLikeLoopsWould() {
        var rng = SystemRandomNumberGenerator()
        for length in 0..<40 {
            for _ in 0..<60 {
                let bytes = (0..<length).map { _ in [UInt8(0x2C), 0x3A, 0x00, 0x80, 0xFF, 0x61][Int(rng.next() % 6)] }
                // A buffer longer than the range too: the scan may read past `to`, never match there.
                let slack = Int(rng.next() % 10)
                let buffer = bytes + (0..<slack).map { _ in [UInt8(0x2C), 0x3A][Int(rng.next() % 2)] }
                buffer.withUnsafeBytes { p in
                    let from = length == 0 ? 0 : Int(rng.next() % UInt64(length + 1))
                    for (stop, mark) in [(UInt8(0x2C), UInt8(0x3A)), (0x3A, 0x2C), (0x00, 0x80), (0x61, 0xFF)] {
                        let s = (from..<length).first { bytes[$0] == stop } ?? length
                        let m = (from..<s).first { bytes[$0] == mark } ?? s
                        let got = ByteScan.find(stop, first: mark, p, from: from, to: length)
                        #expect(got.stop == s && got.mark == m, "\(bytes) from \(from): \(got), want \(s), \(m)")
                    }
                }
            }
        }
    }
}

@Suite struct ByteEqualityTests {
    /// Every length to 130 (the word compares, the 32-byte steps, a 16-byte one and the
    /// overlapping last 16), equal and with one byte changed at every position.
    @Test func equalityMatchesTheBytesAtEveryLengthAndPosition() {
        for n in 0...130 {
            let a = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            a.withUnsafeBytes { pa in
                var b = a
                b.withUnsafeBytes { pb in
                    #expect(n == 0 || ByteHash.equal(pa.baseAddress!, pb.baseAddress!, count: n), "length \(n)")
                }
                for k in 0..<n {
                    b = a
                    b[k] ^= 0x40
                    b.withUnsafeBytes { pb in
                        #expect(!ByteHash.equal(pa.baseAddress!, pb.baseAddress!, count: n), "length \(n), byte \(k)")
                    }
                }
            }
        }
    }
}
