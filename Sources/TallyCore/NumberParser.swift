/// Decimal numbers as StatsD senders write them: `[+-]?(d+(.d*)?|.d+)([eE][+-]?d+)?`.
/// Hexadecimal, `inf` and `nan` are refused. Short decimals take an exact fast path
/// (integer mantissa divided or multiplied by an exact power of ten); the rest go
/// through the standard library's correctly rounded conversion.
public enum NumberParser {
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// The value of `p[range]`, or nil if it is not a decimal number or is not finite.
    @inline(__always)
    public static func parse(_ p: UnsafeRawBufferPointer, _ range: Range<Int>) -> Double? {
        // A counter's `1`: one digit, no call.
        if range.count == 1 {
            let d = p[range.lowerBound] &- 0x30
            if d < 10 { return Double(d) }
        }
        return parseAny(p, range)
    }

    @inline(never)
    static func parseAny(_ p: UnsafeRawBufferPointer, _ range: Range<Int>) -> Double? {
        var i = range.lowerBound
        let end = range.upperBound
        guard i < end else { return nil }
        var negative = false
        if p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") {
            negative = p[i] == UInt8(ascii: "-")
            i += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var significant = 0
        var fractionDigits = 0
        var intDigits = 0
        while i < end, MetricName.isDigit(p[i]) {
            if significant > 0 || p[i] != UInt8(ascii: "0") { significant += 1 }
            if significant <= 19 { mantissa = mantissa &* 10 &+ UInt64(p[i] &- 0x30) }
            intDigits += 1
            i += 1
        }
        if i < end, p[i] == UInt8(ascii: ".") {
            i += 1
            while i < end, MetricName.isDigit(p[i]) {
                if significant > 0 || p[i] != UInt8(ascii: "0") { significant += 1 }
                if significant <= 19 {
                    mantissa = mantissa &* 10 &+ UInt64(p[i] &- 0x30)
                    fractionDigits += 1
                }
                digits += 1
                i += 1
            }
        }
        guard intDigits + digits > 0 else { return nil }
        var exponent = 0
        var hasExponent = false
        if i < end, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
            hasExponent = true
            i += 1
            var expNegative = false
            if i < end, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") {
                expNegative = p[i] == UInt8(ascii: "-")
                i += 1
            }
            var expDigits = 0
            while i < end, MetricName.isDigit(p[i]) {
                if exponent < 100_000 { exponent = exponent * 10 + Int(p[i] - 0x30) }
                expDigits += 1
                i += 1
            }
            guard expDigits > 0 else { return nil }
            if expNegative { exponent = -exponent }
        }
        guard i == end else { return nil }
        // Exact fast path: mantissa fits in 53 bits and the power of ten is exact.
        if !hasExponent && significant <= 15 && fractionDigits <= 22 {
            let v = Double(mantissa) / powersOfTen[fractionDigits]
            return negative ? -v : v
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: p[range]), as: UTF8.self)
        guard let v = Double(text), v.isFinite else { return nil }
        return v
    }
}
