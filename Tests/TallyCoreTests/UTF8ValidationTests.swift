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
}
