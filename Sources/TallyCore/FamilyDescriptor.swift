/// One metric family: what Prometheus sees (name, type, help) and what a line must carry
/// (documented labels) to fold into it.
public struct FamilyDescriptor: Sendable, Equatable {
    /// The exposed family name; counters carry their `_total` suffix here.
    public var name: String
    public var type: FamilyType
    public var help: String
    /// Documented label names in exposition order; `nil` for undocumented families,
    /// whose labels are whatever tags each line carries.
    public var labels: [String]?
    /// Upper bounds of histogram buckets, ascending, without `+Inf`.
    public var buckets: [Double]
    public var unit: FamilyUnit
    /// The catalogue category (`http`, `trading`, ...); empty for undocumented families.
    public var category: String
    /// Labels aggregated away by `limits.families.<name>.drop_labels`: tags with these names
    /// are ignored on purpose (not counted as dropped), and documented ones left `labels`.
    public var droppedLabels: [String] = []
    /// A family a reloaded catalogue no longer has: its id stays taken, it holds no series.
    public var retired = false

    public init(
        name: String, type: FamilyType, help: String, labels: [String]?,
        buckets: [Double] = [], unit: FamilyUnit? = nil, category: String = ""
    ) {
        self.name = name
        self.type = type
        self.help = help
        self.labels = labels
        self.buckets = type == .histogram ? buckets : []
        self.unit = unit ?? FamilyUnit.inferred(fromName: name)
        self.category = category
    }

    public var isDocumented: Bool { labels != nil }

    /// Whether series folded under `self` are still valid under `other` (same name, type,
    /// labels and buckets: help text and category may differ).
    public func hasSameLayout(as other: FamilyDescriptor) -> Bool {
        name == other.name && type == other.type && labels == other.labels && buckets == other.buckets
            && droppedLabels == other.droppedLabels && retired == other.retired
    }

    /// This family with `drop` taken out of its documented labels.
    public func dropping(_ drop: [String]) -> FamilyDescriptor {
        var d = self
        d.droppedLabels = drop
        if let labels {
            d.labels = labels.filter { !drop.contains($0) }
            if !drop.isEmpty { d.help += " (\(drop.joined(separator: ", ")) aggregated away by drop_labels)" }
        }
        return d
    }

    /// The series names this family puts in the exposition; two families may not share one.
    public var exposedNames: [String] {
        switch type {
        case .counter where name.hasSuffix("_total"):
            // OpenMetrics names a counter's family without `_total`: that name is taken too.
            return [name, String(name.dropLast("_total".count))]
        case .counter, .gauge: return [name]
        case .histogram: return [name, name + "_bucket", name + "_sum", name + "_count"]
        case .summary: return [name, name + "_sum", name + "_count"]
        }
    }

    /// Number of Doubles one series of this family occupies in a shard.
    var slotWidth: Int {
        switch type {
        case .counter, .gauge: return 1
        case .histogram: return buckets.count + 2  // per-bucket counts, sum, count
        case .summary: return 2  // sum, count
        }
    }
}

extension FamilyUnit {
    /// `*_seconds` families are in seconds, `*_bytes` in bytes; anything else has no unit.
    public static func inferred(fromName name: String) -> FamilyUnit {
        if name.hasSuffix("_seconds") { return .seconds }
        if name.hasSuffix("_bytes") { return .bytes }
        return .none
    }
}
