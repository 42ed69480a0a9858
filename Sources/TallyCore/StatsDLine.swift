import CTallyCPU

/// One StatsD/DogStatsD line, parsed in place: every field is a byte range into the line the
/// parser was given, so parsing allocates nothing.
///
/// Grammar: `name:value[:value...]|type[|@rate][|#tag[:value],...][|c:container][|T<ts>][|card:x]`,
/// or tags in the name the way other StatsD dialects put them: InfluxDB `name,k=v,k2=v2:1|c`,
/// Librato `name#k=v,k2=v2:1|c`, SignalFX `name[k=v,k2=v2]:1|c`.
public struct StatsDLine: Sendable {
    /// Where a line's tags came from; one line may use one style only.
    public enum TagStyle: UInt8, Sendable {
        case none, dogstatsd, influx, librato, signalfx

        /// The byte between a tag's key and value.
        @inline(__always) public var separator: UInt8 {
            self == .dogstatsd || self == .none ? UInt8(ascii: ":") : UInt8(ascii: "=")
        }
    }

    public var name: Range<Int>
    /// One or more values separated by `:` (DogStatsD multi-value packets).
    public var values: Range<Int>
    public var kind: SampleKind
    public var sampleRate: Double
    /// The comma-separated tags (after `|#`, or inside the name); empty when the line has none.
    public var tags: Range<Int>
    public var tagStyle: TagStyle = .none
    /// `|field`s this parser does not know (ignored, counted).
    public var unknownFields = 0

    public static let maxNameLength = 200

    /// Whether the name holds a `.`: only then can it start with a `<service>.` prefix.
    public var nameHasDot = false

    /// Nonzero for the bytes a StatsD name may hold (`[A-Za-z0-9_.-]`), 0 for all others; the
    /// `.` is 3, so the scan that checks the name also learns whether it has one.
    static let nameChars: [UInt8] = (0..<256).map { b in
        let c = UInt8(b)
        if c == 0x2E { return 3 }
        return MetricName.isAlpha(c) || MetricName.isDigit(c) || c == 0x5F || c == 0x2D ? 1 : 0
    }

    /// Parses one line (no newline). Leading and trailing blanks must already be trimmed.
    public static func parse(_ line: UnsafeRawBufferPointer) -> Result<StatsDLine, LineError> {
        nameChars.withUnsafeBufferPointer { table in
            var parsed = StatsDLine()
            if let error = parse(line, nameChars: table.baseAddress!, into: &parsed) { return .failure(error) }
            return .success(parsed)
        }
    }

    /// The same with `nameChars` (a copy of `StatsDLine.nameChars`) held by the caller, as the
    /// fold does: no static read per line.
    @inline(__always)
    /// nil when the line parsed into `out`; the reason otherwise (`out` is then undefined).
    /// Filling the caller's value costs less than returning a Result and copying it out.
    static func parse(_ line: UnsafeRawBufferPointer, nameChars table: UnsafePointer<UInt8>, into out: inout StatsDLine)
        -> LineError?
    {
        let n = line.count
        // name, possibly with InfluxDB/Librato/SignalFX tags
        var i = 0
        var nameEnd = -1
        var nameTags = 0..<0
        var nameStyle = TagStyle.none
        // Skip the plain name bytes with one table lookup each; anything else stops the scan.
        var dot: Int32 = 0
        i = tally_name_span16(line.baseAddress, n, &dot)  // 16 bytes a step; 0: the loop does it all
        var seen: UInt8 = dot != 0 ? 2 : 0
        while i < n {
            let c = table[Int(line[i])]
            if c == 0 { break }
            seen |= c
            i &+= 1
        }
        while i < n && line[i] != UInt8(ascii: ":") {
            let b = line[i]
            if !(MetricName.isAlpha(b) || MetricName.isDigit(b) || b == 0x5F || b == 0x2E || b == 0x2D) {
                if b == UInt8(ascii: "|") {
                    return LineError(.malformedLine, "no ':' between name and value")
                }
                if nameEnd < 0 && i > 0 && (b == UInt8(ascii: ",") || b == UInt8(ascii: "#") || b == UInt8(ascii: "["))
                {
                    nameEnd = i
                    nameStyle = b == UInt8(ascii: ",") ? .influx : b == UInt8(ascii: "#") ? .librato : .signalfx
                    var j = i + 1
                    if nameStyle == .signalfx {
                        while j < n && line[j] != UInt8(ascii: "]") { j += 1 }
                        guard j < n, j + 1 < n, line[j + 1] == UInt8(ascii: ":") else {
                            return LineError(.malformedLine, "SignalFX tags must be name[k=v,...]:value")
                        }
                        nameTags = (i + 1)..<j
                        i = j + 1
                    } else {
                        while j < n && line[j] != UInt8(ascii: ":") && line[j] != UInt8(ascii: "|") { j += 1 }
                        nameTags = (i + 1)..<j
                        i = j
                    }
                    break
                }
                return
                    LineError(.invalidName, "name has character \(LineError.describe(byte: b)) at byte \(i)")
            }
            i += 1
        }
        if i == n || line[i] != UInt8(ascii: ":") {
            return LineError(.malformedLine, "no ':' after the name")
        }
        let nameLength = nameEnd >= 0 ? nameEnd : i
        if nameLength == 0 { return LineError(.invalidName, "empty name") }
        if nameLength > maxNameLength {
            return LineError(.nameTooLong, "name is \(nameLength) bytes, the limit is \(maxNameLength)")
        }
        let name = 0..<nameLength
        // values
        let valueStart = i + 1
        i = ByteScan.find(UInt8(ascii: "|"), line, from: valueStart, to: n)
        if i == n { return LineError(.malformedLine, "no '|type' after the value") }
        if i == valueStart { return LineError(.malformedLine, "empty value") }
        let values = valueStart..<i
        // type
        let typeStart = i + 1
        i = ByteScan.find(UInt8(ascii: "|"), line, from: typeStart, to: n)
        let kind: SampleKind
        switch i - typeStart {
        case 1:
            switch line[typeStart] {
            case UInt8(ascii: "c"): kind = .counter
            case UInt8(ascii: "g"): kind = .gauge
            case UInt8(ascii: "h"): kind = .histogram
            case UInt8(ascii: "d"): kind = .distribution
            case UInt8(ascii: "s"): kind = .set
            default: return LineError(.unknownType, "type '\(LineError.text(line, typeStart..<i))'")
            }
        case 2 where line[typeStart] == UInt8(ascii: "m") && line[typeStart + 1] == UInt8(ascii: "s"):
            kind = .timer
        case 0:
            return LineError(.malformedLine, "empty type field")
        default:
            return LineError(.unknownType, "type '\(LineError.text(line, typeStart..<i))'")
        }
        // optional fields, in any order
        var rate = 1.0
        var tags = nameStyle == .none ? n..<n : nameTags
        var tagStyle = nameStyle
        var unknownFields = 0
        var seenRate = false
        var seenTags = false
        while i < n {
            let fieldStart = i + 1
            i = ByteScan.find(UInt8(ascii: "|"), line, from: fieldStart, to: n)
            let field = fieldStart..<i
            guard !field.isEmpty else { return LineError(.malformedLine, "empty field after '|'") }
            switch line[fieldStart] {
            case UInt8(ascii: "@"):
                guard !seenRate else { return LineError(.malformedLine, "two sample rates") }
                seenRate = true
                guard let r = NumberParser.parse(line, (fieldStart + 1)..<i), r > 0, r <= 1 else {
                    return
                        LineError(.invalidSampleRate, "sample rate '\(LineError.text(line, (fieldStart + 1)..<i))'")
                }
                rate = r
            case UInt8(ascii: "#"):
                guard !seenTags else { return LineError(.malformedLine, "two tag sections") }
                guard nameStyle == .none else {
                    return
                        LineError(.mixedTagStyles, "tags in the name (\(nameStyle) style) and a |# tag section")
                }
                seenTags = true
                tags = (fieldStart + 1)..<i
                tagStyle = .dogstatsd
            case UInt8(ascii: "c") where field.count >= 2 && line[fieldStart + 1] == UInt8(ascii: ":"):
                break  // DogStatsD container id: not a label
            case UInt8(ascii: "T"):
                break  // DogStatsD client timestamp: we expose current values, not timestamps
            case UInt8(ascii: "c")
            where field.count >= 5 && line[fieldStart + 1] == UInt8(ascii: "a")
                && line[fieldStart + 2] == UInt8(ascii: "r") && line[fieldStart + 3] == UInt8(ascii: "d")
                && line[fieldStart + 4] == UInt8(ascii: ":"):
                break  // DogStatsD cardinality hint: tallyd's limits decide
            default:
                unknownFields += 1  // a newer client's extension: ignore it, count it
            }
        }
        out.name = name
        out.values = values
        out.kind = kind
        out.sampleRate = rate
        out.tags = tags
        out.tagStyle = tagStyle
        out.unknownFields = unknownFields
        out.nameHasDot = seen & 2 != 0
        return nil
    }
}

extension StatsDLine {
    /// An empty line's fields, for `parse(_:nameChars:into:)` to fill. In an extension, so the
    /// memberwise initializer stays.
    init() {
        self.init(name: 0..<0, values: 0..<0, kind: .counter, sampleRate: 1, tags: 0..<0)
    }
}

/// A reason plus the detail an operator needs to fix the sender.
public struct LineError: Error, Sendable, Equatable {
    public var reason: RejectReason
    public var detail: String
    /// Logged even inside the once-per-second limit: the first refusal of a kind that explains
    /// itself (a family's first `cardinality_limit`).
    public var alwaysLog = false

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
        /// What the fold makes of the tag (`FoldState.TagRole`), set once when it is scanned.
        var role: UInt8 = 0
    }

    let line: UnsafeRawBufferPointer
    var position: Int
    let end: Int
    let separator: UInt8

    public init(_ line: UnsafeRawBufferPointer, _ tags: Range<Int>, separator: UInt8 = UInt8(ascii: ":")) {
        self.line = line
        self.position = tags.lowerBound
        self.end = tags.upperBound
        self.separator = separator
    }

    @inline(__always)
    public mutating func next() -> Tag? {
        while position < end {
            let start = position
            let (comma, colon) = ByteScan.find(UInt8(ascii: ","), first: separator, line, from: start, to: end)
            position = comma &+ 1
            if comma == start { continue }  // empty tag between commas
            // start <= colon <= comma by construction: no range checks.
            if colon == comma {
                return Tag(
                    key: Range(uncheckedBounds: (start, comma)), value: Range(uncheckedBounds: (comma, comma)),
                    hasValue: false)
            }
            return Tag(
                key: Range(uncheckedBounds: (start, colon)), value: Range(uncheckedBounds: (colon &+ 1, comma)),
                hasValue: true)
        }
        return nil
    }
}
