/// One DogStatsD line built from a command's arguments: `name:v|type[|@rate]|#service:S,k:v`.
/// Pure, so what `tally count` sends can be tested without a socket.
struct MetricLine: Equatable {
    var name: String
    var value: String
    /// The StatsD type field: `c`, `g`, `h`, `ms`, `s`.
    var type: String
    /// `key=value` pairs as given with `-t`, in order.
    var tags: [(key: String, value: String)] = []
    var service: String?
    var sampleRate: Double?

    static func == (a: MetricLine, b: MetricLine) -> Bool { (try? a.text()) == (try? b.text()) }

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses `-t key=value`.
    static func tag(_ text: String) throws(Invalid) -> (key: String, value: String) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw Invalid(description: "-t \(text): expected key=value (e.g. -t symbol=BTCUSDT)")
        }
        return (String(text[..<eq]), String(text[text.index(after: eq)...]))
    }

    /// The line; refuses what would change its meaning on the wire (a `|`, `,`, `#` or newline
    /// inside a value, a `:` in a name).
    func text() throws(Invalid) -> String {
        func clean(_ s: String, _ what: String, forbidden: Set<Character>) throws(Invalid) -> String {
            guard !s.isEmpty else { throw Invalid(description: "\(what) is empty") }
            if let bad = s.first(where: { forbidden.contains($0) || $0.isNewline }) {
                throw Invalid(description: "\(what) '\(s)' may not contain '\(bad)'")
            }
            return s
        }
        var line = try clean(name, "the name", forbidden: [":", "|", "@", "#", ",", " "])
        line += ":" + (try clean(value, "the value", forbidden: ["|", ":"])) + "|" + type
        if let sampleRate {
            guard sampleRate > 0, sampleRate <= 1 else {
                throw Invalid(description: "--sample-rate \(sampleRate) must be in (0, 1]")
            }
            line += "|@\(sampleRate)"
        }
        var parts: [String] = []
        if let service {
            parts.append("service:" + (try clean(service, "--service", forbidden: ["|", ",", ":", "#"])))
        }
        for tag in tags {
            let key = try clean(tag.key, "the label name", forbidden: ["|", ",", ":", "#"])
            let value = try clean(tag.value, "the value of label \(tag.key)", forbidden: ["|", ","])
            parts.append(key + ":" + value)
        }
        if !parts.isEmpty { line += "|#" + parts.joined(separator: ",") }
        return line
    }
}
