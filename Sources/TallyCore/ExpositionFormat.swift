/// The exposition a scraper gets: Prometheus text 0.0.4 unless it asks for OpenMetrics 1.0.
///
/// Prometheus asks for OpenMetrics first (`application/openmetrics-text;version=1.0.0`, then
/// 0.0.1 at q=0.75, text at q=0.5); curl, browsers and `*/*` get the plain text everyone reads.
public enum ExpositionFormat: String, Sendable, CaseIterable {
    case text
    case openMetrics = "openmetrics"

    public var contentType: String {
        switch self {
        case .text: return "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: return "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// The format for an `Accept` header (its values joined by commas): OpenMetrics when the
    /// header lists it (version 1.0.0, 0.0.1 or none) with a q above 0 and at least the
    /// q of any text or wildcard range; text otherwise.
    public init(accept: String?) {
        self = .text
        guard let accept, accept.contains("openmetrics") else { return }
        var openMetrics = 0.0
        var other = 0.0
        for range in accept.split(separator: ",") {
            let parts = range.split(separator: ";").map { $0.trimmingBlanks() }
            guard let type = parts.first?.lowercased() else { continue }
            var q = 1.0
            var version: Substring? = nil
            for p in parts.dropFirst() {
                let kv = p.split(separator: "=", maxSplits: 1).map { $0.trimmingBlanks() }
                guard kv.count == 2 else { continue }
                switch kv[0].lowercased() {
                case "q": q = Double(kv[1]) ?? 0
                case "version": version = kv[1]
                default: break
                }
            }
            if type == "application/openmetrics-text" {
                if version == nil || version == "1.0.0" || version == "0.0.1" { openMetrics = max(openMetrics, q) }
            } else if type == "text/plain" || type == "*/*" || type == "text/*" {
                other = max(other, q)
            }
        }
        if openMetrics > 0 && openMetrics >= other { self = .openMetrics }
    }
}

extension Substring {
    fileprivate func trimmingBlanks() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
