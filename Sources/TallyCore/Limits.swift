/// Cardinality limits that keep one runaway sender from exhausting the daemon's memory.
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

    public init(maxSeriesPerFamily: Int = 10_000, maxSeriesPerService: Int = 100_000, families: [String: Int] = [:]) {
        self.maxSeriesPerFamily = maxSeriesPerFamily
        self.maxSeriesPerService = maxSeriesPerService
        self.families = families
    }

    public func maxSeries(family name: String) -> Int { families[name] ?? maxSeriesPerFamily }
}
