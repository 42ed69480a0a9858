import Testing

@testable import TallyCore

@Suite struct NumberParserTests {
    static let good: [(String, Double)] = [
        ("0", 0), ("1", 1), ("-1", -1), ("+2", 2), ("1.5", 1.5), (".5", 0.5), ("5.", 5), ("0.005", 0.005),
        ("1e3", 1000), ("1E-3", 0.001), ("-2.5e+2", -250), ("123456789012345", 123_456_789_012_345),
        ("0.1", 0.1), ("3.14159265358979", 3.14159265358979), ("12345678901234567890", 12_345_678_901_234_567_890),
        ("0.30000000000000004", 0.30000000000000004), ("1e308", 1e308),
    ]

    @Test(arguments: good)
    func parses(_ text: String, _ expected: Double) {
        var t = text
        t.withUTF8 { #expect(NumberParser.parse(UnsafeRawBufferPointer($0), 0..<$0.count) == expected) }
    }

    @Test(arguments: [
        "", "-", "+", ".", "e3", "1e", "1e+", "0x10", "nan", "NaN", "inf", "-Infinity", "1.2.3", "1,5", " 1", "1 ",
        "1e309", "--1", "1_000",
    ])
    func rejects(_ text: String) {
        var t = text
        t.withUTF8 { #expect(NumberParser.parse(UnsafeRawBufferPointer($0), 0..<$0.count) == nil) }
    }

    @Test func fastPathMatchesStandardLibrary() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let digits = Int.random(in: 1...15, using: &rng)
            var s = String((0..<digits).map { _ in "0123456789".randomElement(using: &rng)! })
            let dot = Int.random(in: 0...digits, using: &rng)
            s.insert(".", at: s.index(s.startIndex, offsetBy: dot))
            if s == "." { continue }
            var t = s
            let ours = t.withUTF8 { NumberParser.parse(UnsafeRawBufferPointer($0), 0..<$0.count) }
            #expect(ours == Double(s), "\(s)")
        }
    }
}
