/// The Prometheus type a family is exposed as.
public enum FamilyType: String, Sendable, CaseIterable {
    case counter
    case gauge
    case histogram
    case summary

    /// Whether lines of `kind` may fold into a family of this type.
    @inline(__always) public func accepts(_ kind: SampleKind) -> Bool {
        switch (self, kind) {
        case (.counter, .counter): return true
        case (.gauge, .gauge), (.gauge, .set): return true
        case (.histogram, .timer), (.histogram, .histogram), (.histogram, .distribution): return true
        case (.summary, .timer), (.summary, .histogram), (.summary, .distribution): return true
        default: return false
        }
    }

    /// True for families whose samples are observations (bucketed or summed).
    public var isObservation: Bool { self == .histogram || self == .summary }
}

/// The StatsD type field of a line: `c`, `g`, `ms`, `h`, `d` (and `s` for sets).
public enum SampleKind: UInt8, Sendable, CaseIterable {
    case counter
    case gauge
    case timer
    case histogram
    case distribution
    case set

    /// The StatsD spelling, for messages.
    public var statsdField: String {
        switch self {
        case .counter: return "c"
        case .gauge: return "g"
        case .timer: return "ms"
        case .histogram: return "h"
        case .distribution: return "d"
        case .set: return "s"
        }
    }
}

/// The base unit of a family's observations. A `|ms` timer is converted to seconds, and only
/// seconds families (or undocumented ones, which are created in seconds) may receive timers.
public enum FamilyUnit: String, Sendable {
    case seconds
    case bytes
    case none
}
