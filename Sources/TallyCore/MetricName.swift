/// Prometheus naming rules, and the sanitising that turns StatsD names into metric names.
public enum MetricName {
    @inline(__always) static func isAlpha(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A)
    }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    public static func isValidMetricName(_ name: String) -> Bool {
        var first = true
        for b in name.utf8 {
            let ok = isAlpha(b) || b == 0x5F || b == 0x3A || (!first && isDigit(b))
            if !ok { return false }
            first = false
        }
        return !first
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, and not starting with `__` (reserved for Prometheus).
    public static func isValidLabelName(_ name: String) -> Bool {
        var first = true
        for b in name.utf8 {
            let ok = isAlpha(b) || b == 0x5F || (!first && isDigit(b))
            if !ok { return false }
            first = false
        }
        return !first && !name.hasPrefix("__")
    }

    /// `le` belongs to histogram buckets and `quantile` to summaries, and Prometheus tooling
    /// (histogram_quantile, recording rules, federation) reads them that way wherever they
    /// appear: no family may have either as a label, whatever its type.
    public static func isReservedLabel(_ name: String) -> Bool {
        name == "le" || name == "quantile"
    }

    /// A StatsD name (already checked to be `[A-Za-z0-9_.-]+`) as a metric name: `.` and `-`
    /// become `_`, and a leading digit gets a `_` in front.
    public static func sanitize(_ bytes: UnsafeRawBufferPointer) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + 1)
        if let first = bytes.first, isDigit(first) { out.append(0x5F) }
        for b in bytes { out.append(b == 0x2E || b == 0x2D ? 0x5F : b) }
        return String(decoding: out, as: UTF8.self)
    }

    /// A tag key as a label name: `.` and `-` become `_`; `nil` if it still is not valid.
    public static func sanitizeLabel(_ bytes: UnsafeRawBufferPointer) -> String? {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        for b in bytes {
            if b == 0x2E || b == 0x2D {
                out.append(0x5F)
            } else if isAlpha(b) || isDigit(b) || b == 0x5F {
                out.append(b)
            } else {
                return nil
            }
        }
        let name = String(decoding: out, as: UTF8.self)
        return isValidLabelName(name) ? name : nil
    }
}
