/// One StatsD/DogStatsD line, parsed in place: every field is a byte range into the line the
/// parser was given, so parsing allocates nothing.
///
/// Grammar: `name:value[:value...]|type[|@rate][|#tag[:value],...][|c:container][|T<ts>]`.
public struct StatsDLine: Sendable {
    public var name: Range<Int>
    /// One or more values separated by `:` (DogStatsD multi-value packets).
    public var values: Range<Int>
    public var kind: SampleKind
    public var sampleRate: Double
    /// The text after `#`, comma-separated tags; empty when the line has none.
    public var tags: Range<Int>

    public static let maxNameLength = 200

    /// Parses one line (no newline). Leading and trailing blanks must already be trimmed.
    public static func parse(_ line: UnsafeRawBufferPointer) -> Result<StatsDLine, LineError> {
        let n = line.count
        // name
        var i = 0
        while i < n && line[i] != UInt8(ascii: ":") {
            let b = line[i]
            if !(MetricName.isAlpha(b) || MetricName.isDigit(b) || b == 0x5F || b == 0x2E || b == 0x2D) {
                if b == UInt8(ascii: "|") { return .failure(LineError(.malformedLine, "no ':' between name and value")) }
                return .failure(LineError(.invalidName, "name has character \(LineError.describe(byte: b)) at byte \(i)"))
            }
            i += 1
        }
        if i == n { return .failure(LineError(.malformedLine, "no ':' after the name")) }
        if i == 0 { return .failure(LineError(.invalidName, "empty name")) }
        if i > maxNameLength { return .failure(LineError(.nameTooLong, "name is \(i) bytes, the limit is \(maxNameLength)")) }
        let name = 0..<i
        // values
        let valueStart = i + 1
        i = valueStart
        while i < n && line[i] != UInt8(ascii: "|") { i += 1 }
        if i == n { return .failure(LineError(.malformedLine, "no '|type' after the value")) }
        if i == valueStart { return .failure(LineError(.malformedLine, "empty value")) }
        let values = valueStart..<i
        // type
        let typeStart = i + 1
        i = typeStart
        while i < n && line[i] != UInt8(ascii: "|") { i += 1 }
        let kind: SampleKind
        switch i - typeStart {
        case 1:
            switch line[typeStart] {
            case UInt8(ascii: "c"): kind = .counter
            case UInt8(ascii: "g"): kind = .gauge
            case UInt8(ascii: "h"): kind = .histogram
            case UInt8(ascii: "d"): kind = .distribution
            case UInt8(ascii: "s"): kind = .set
            default: return .failure(LineError(.unknownType, "type '\(LineError.text(line, typeStart..<i))'"))
            }
        case 2 where line[typeStart] == UInt8(ascii: "m") && line[typeStart + 1] == UInt8(ascii: "s"):
            kind = .timer
        case 0:
            return .failure(LineError(.malformedLine, "empty type field"))
        default:
            return .failure(LineError(.unknownType, "type '\(LineError.text(line, typeStart..<i))'"))
        }
        // optional fields, in any order
        var rate = 1.0
        var tags = n..<n
        var seenRate = false
        var seenTags = false
        while i < n {
            let fieldStart = i + 1
            i = fieldStart
            while i < n && line[i] != UInt8(ascii: "|") { i += 1 }
            let field = fieldStart..<i
            guard !field.isEmpty else { return .failure(LineError(.malformedLine, "empty field after '|'")) }
            switch line[fieldStart] {
            case UInt8(ascii: "@"):
                guard !seenRate else { return .failure(LineError(.malformedLine, "two sample rates")) }
                seenRate = true
                guard let r = NumberParser.parse(line, (fieldStart + 1)..<i), r > 0, r <= 1 else {
                    return .failure(LineError(.invalidSampleRate, "sample rate '\(LineError.text(line, (fieldStart + 1)..<i))'"))
                }
                rate = r
            case UInt8(ascii: "#"):
                guard !seenTags else { return .failure(LineError(.malformedLine, "two tag sections")) }
                seenTags = true
                tags = (fieldStart + 1)..<i
            case UInt8(ascii: "c") where field.count >= 2 && line[fieldStart + 1] == UInt8(ascii: ":"):
                break  // DogStatsD container id: not a label
            case UInt8(ascii: "T"):
                break  // DogStatsD client timestamp: we expose current values, not timestamps
            default:
                return .failure(LineError(.malformedLine, "unknown field '\(LineError.text(line, field))'"))
            }
        }
        return .success(StatsDLine(name: name, values: values, kind: kind, sampleRate: rate, tags: tags))
    }
}

/// A reason plus the detail an operator needs to fix the sender.
public struct LineError: Error, Sendable, Equatable {
    public var reason: RejectReason
    public var detail: String

    public init(_ reason: RejectReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    static func describe(byte b: UInt8) -> String {
        if b >= 0x21 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "0x" + String(b, radix: 16, uppercase: true)
    }

    static func text(_ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        LogEscaper.escape(UnsafeRawBufferPointer(rebasing: line[range]), limit: 64)
    }
}

/// Iterates the comma-separated tags of a line as (key, value) byte ranges; a tag without `:`
/// has an empty value range and `hasValue == false`.
public struct TagIterator: IteratorProtocol {
    public struct Tag {
        public var key: Range<Int>
        public var value: Range<Int>
        public var hasValue: Bool
    }

    let line: UnsafeRawBufferPointer
    var position: Int
    let end: Int

    public init(_ line: UnsafeRawBufferPointer, _ tags: Range<Int>) {
        self.line = line
        self.position = tags.lowerBound
        self.end = tags.upperBound
    }

    public mutating func next() -> Tag? {
        while position < end {
            let start = position
            var colon = -1
            var i = start
            while i < end && line[i] != UInt8(ascii: ",") {
                if colon < 0 && line[i] == UInt8(ascii: ":") { colon = i }
                i += 1
            }
            position = i + 1
            if i == start { continue }  // empty tag between commas
            if colon < 0 { return Tag(key: start..<i, value: i..<i, hasValue: false) }
            return Tag(key: start..<colon, value: (colon + 1)..<i, hasValue: true)
        }
        return nil
    }
}
