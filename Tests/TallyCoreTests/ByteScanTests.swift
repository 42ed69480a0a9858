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
