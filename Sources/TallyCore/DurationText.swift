/// Durations as people write them in a config file or on a command line: `500ms`, `30s`,
/// `5m`, `1h`, or a plain number of seconds. One parser for `tallyd` and `tally`.
public enum DurationText {
    static let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]

    /// The duration in seconds, or nil when `text` is not one (negative and non-finite values
    /// included). Surrounding blanks are ignored.
    public static func seconds(_ text: String) -> Double? {
        var s = Substring(text)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        for unit in units where s.hasSuffix(unit.suffix) {
            if let v = Double(s.dropLast(unit.suffix.count)), v.isFinite, v >= 0 { return v * unit.seconds }
        }
        if let v = Double(s), v.isFinite, v >= 0 { return v }
        return nil
    }

    /// What to say when a duration does not parse.
    public static let examples = "e.g. 500ms, 30s, 5m, 1h"
}
