/// Cardinality limits, expiry and set windows: what keeps one runaway sender from exhausting
/// the daemon's memory. Everything here may change on a config reload.
///
/// A line that would create a series past a limit is refused (`cardinality_limit`); series
/// that exist keep updating.
public struct Limits: Sendable, Equatable {
    /// Series one service may hold in one family (unless `families` says otherwise).
    public var maxSeriesPerFamily = 10_000
    /// Series one service may hold in all families together.
    public var maxSeriesPerService = 100_000
    /// Per-family overrides of `maxSeriesPerFamily`, by family name.
    public var families: [String: Int] = [:]
    /// Seconds without an update after which a series disappears; 0 = never.
    public var ttl: Double = 0
    /// Per-family overrides of `ttl`, by family name (0 = never for that family).
    public var familyTTL: [String: Double] = [:]
    /// Labels aggregated away, by family name: series differing only in them fold together.
    public var dropLabels: [String: [String]] = [:]
    /// A set (`|s`) series counts the distinct values seen within this many seconds.
    public var setWindow: Double = 60
    /// Distinct values one set series holds in its window; more are refused (`set_overflow`).
    public var setMaxValues = 10_000

    public init(
        maxSeriesPerFamily: Int = 10_000, maxSeriesPerService: Int = 100_000, families: [String: Int] = [:],
        ttl: Double = 0, familyTTL: [String: Double] = [:], dropLabels: [String: [String]] = [:],
        setWindow: Double = 60, setMaxValues: Int = 10_000
    ) {
        self.maxSeriesPerFamily = maxSeriesPerFamily
        self.maxSeriesPerService = maxSeriesPerService
        self.families = families
        self.ttl = ttl
        self.familyTTL = familyTTL
        self.dropLabels = dropLabels
        self.setWindow = setWindow
        self.setMaxValues = setMaxValues
    }

    public func maxSeries(family name: String) -> Int { Self.entry(families, name) ?? maxSeriesPerFamily }

    /// A per-family setting of `name`. An undocumented counter is exposed as `req_total` but
    /// sent as `req`: `limits.families` may name it either way.
    public static func entry<T>(_ settings: [String: T], _ name: String) -> T? {
        if let v = settings[name] { return v }
        if name.hasSuffix("_total") { return settings[String(name.dropLast(6))] }
        return nil
    }

    /// The TTL of a family; the gauges tallyd keeps about services themselves never expire.
    public func ttl(family name: String) -> Double {
        if Self.neverExpire.contains(name) { return 0 }
        return Self.entry(familyTTL, name) ?? ttl
    }

    /// The shortest ttl in force (global or per family); nil when nothing expires.
    public var shortestTTL: Double? { ([ttl] + familyTTL.values).filter { $0 > 0 }.min() }

    /// `service_up`, `service_start_time` and `service_info` describe the service, not a series
    /// of events: they stay until the daemon stops.
    public static let neverExpire = Set(SpecialFamily.allCases.map(\.rawValue))
}
