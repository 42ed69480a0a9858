/// The latest trace a counter increment or a histogram observation came with, shown in
/// OpenMetrics output as `# {trace_id="…",span_id="…"} value time` after its sample.
///
/// A `trace_id` tag (with an optional `span_id`) never becomes a label: it would make every
/// request its own series. The slot keeps its byte buffer across updates, so replacing an
/// exemplar allocates only when a longer id arrives.
public struct Exemplar: Sendable, Equatable {
    /// The trace id's bytes, then the span id's.
    var ids: [UInt8] = []
    var traceLength = 0
    public var value = 0.0
    /// Wall-clock seconds.
    public var time = 0.0

    public var traceID: String { String(decoding: ids[..<traceLength], as: UTF8.self) }
    public var spanID: String { String(decoding: ids[traceLength...], as: UTF8.self) }

    /// OpenMetrics caps an exemplar's label names and values together at 128 code points.
    public static let maxLabelCharacters = 128

    mutating func set(_ input: ExemplarInput, value: Double) {
        ids.removeAll(keepingCapacity: true)
        ids.append(contentsOf: input.trace)
        traceLength = input.trace.count
        ids.append(contentsOf: input.span)
        self.value = value
        time = input.time
    }
}

/// A line's exemplar on its way into the store: byte ranges of the line, valid while it is
/// folded (nothing is copied until the store keeps it).
struct ExemplarInput {
    var trace: UnsafeRawBufferPointer
    /// Empty when the line has no `span_id`.
    var span: UnsafeRawBufferPointer
    var time: Double

    /// Whether `trace_id="…",span_id="…"` fits OpenMetrics' 128 code points.
    var fits: Bool {
        var n = "trace_id".utf8.count + Self.codePoints(trace)
        if !span.isEmpty { n += "span_id".utf8.count + Self.codePoints(span) }
        return n <= Exemplar.maxLabelCharacters
    }

    /// Code points of valid UTF-8: every byte but continuation bytes.
    static func codePoints(_ bytes: UnsafeRawBufferPointer) -> Int {
        var n = 0
        for b in bytes where b & 0xC0 != 0x80 { n += 1 }
        return n
    }
}
