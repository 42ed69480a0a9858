import Testing

@testable import TallyCore

@Suite struct UTF8ValidationTests {
    static let cases: [([UInt8], Bool)] = [
        (Array("plain ascii".utf8), true),
        (Array("ünïcödé ✓ 𝄞".utf8), true),
        ([0x61, 0x00, 0x62], false),
        ([0xC0, 0x80], false),  // overlong NUL
        ([0xED, 0xA0, 0x80], false),  // surrogate
        ([0xF4, 0x90, 0x80, 0x80], false),  // > U+10FFFF
        ([0xE2, 0x82], false),  // truncated
        ([0xFF], false),
        (Array("abcdefghijklmnop\u{00e9}".utf8), true),
    ]

    @Test(arguments: cases)
    func validates(_ bytes: [UInt8], _ valid: Bool) {
        bytes.withUnsafeBytes { #expect(UTF8Validation.isValidWithoutNUL($0, 0..<$0.count) == valid) }
    }

    /// Mostly-ASCII buffers with one odd byte or sequence anywhere, every length up to 40 (the
    /// word-at-a-time fast path, its overlapping last word and the byte path), against the
    /// standard library's validator.
    @Test func agreesWithTheStandardLibraryAtEveryPosition() {
        var rng = SystemRandomNumberGenerator()
        let odd: [[UInt8]] = [
            [0x00], [0x80], [0xFF], [0xC3, 0xA9], [0xE2, 0x9C, 0x93], [0xED, 0xA0, 0x80], [0xC0, 0x80],
        ]
        for length in 0..<40 {
            for _ in 0..<30 {
                var bytes = (0..<length).map { _ in UInt8(0x20 + rng.next() % 0x5F) }
                if length > 0 && rng.next() % 4 != 0 {
                    let at = Int(rng.next() % UInt64(length))
                    let piece = odd[Int(rng.next() % UInt64(odd.count))]
                    bytes.replaceSubrange(at..<min(length, at + piece.count), with: piece)
                }
                let expected = !bytes.contains(0) && String(validating: bytes, as: UTF8.self) != nil
                bytes.withUnsafeBytes {
                    #expect(UTF8Validation.isValidWithoutNUL($0, 0..<$0.count) == expected, "\(bytes)")
                }
            }
        }
    }
}
