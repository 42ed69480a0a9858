/// The documented families: the schema lines are checked against.
public struct Catalogue: Sendable, Equatable {
    public private(set) var families: [FamilyDescriptor]

    public enum ValidationError: Error, Equatable, CustomStringConvertible {
        case invalidFamilyName(String)
        case invalidLabelName(family: String, label: String)
        case duplicateFamily(String)
        case duplicateLabel(family: String, label: String)
        case reservedLabel(family: String, label: String)
        case exemplarLabel(family: String, label: String)
        case counterWithoutTotal(String)
        case badBuckets(family: String, reason: String)

        public var description: String {
            switch self {
            case .invalidFamilyName(let n): return "family name '\(n)' is not a valid Prometheus metric name"
            case .invalidLabelName(let f, let l):
                return "family '\(f)': label '\(l)' is not a valid Prometheus label name"
            case .duplicateFamily(let n):
                return "family '\(n)' is listed twice (or clashes with another family's series names)"
            case .duplicateLabel(let f, let l): return "family '\(f)': label '\(l)' is listed twice"
            case .reservedLabel(let f, let l): return "family '\(f)': label '\(l)' is reserved by Prometheus"
            case .exemplarLabel(let f, let l):
                return "family '\(f)': label '\(l)' is reserved for exemplars (a \(l) tag links a sample to a "
                    + "trace and never becomes a label)"
            case .counterWithoutTotal(let n): return "counter '\(n)' must end in _total"
            case .badBuckets(let f, let r): return "family '\(f)': \(r)"
            }
        }
    }

    /// Validates and builds a catalogue; throws on the first problem found.
    public init(families: [FamilyDescriptor]) throws(ValidationError) {
        var exposed = Set<String>()
        for family in families {
            guard MetricName.isValidMetricName(family.name) else { throw .invalidFamilyName(family.name) }
            if family.type == .counter && !family.name.hasSuffix("_total") {
                throw .counterWithoutTotal(family.name)
            }
            for name in family.exposedNames {
                guard exposed.insert(name).inserted else { throw .duplicateFamily(family.name) }
            }
            var seen = Set<String>()
            for label in family.labels ?? [] {
                guard MetricName.isValidLabelName(label) else {
                    throw .invalidLabelName(family: family.name, label: label)
                }
                guard !MetricName.isReservedLabel(label) else {
                    throw .reservedLabel(family: family.name, label: label)
                }
                guard label != "trace_id" && label != "span_id" else {
                    throw .exemplarLabel(family: family.name, label: label)
                }
                guard seen.insert(label).inserted else { throw .duplicateLabel(family: family.name, label: label) }
            }
            if family.type == .histogram {
                guard !family.buckets.isEmpty else {
                    throw .badBuckets(family: family.name, reason: "a histogram needs at least one bucket")
                }
                guard family.buckets.allSatisfy({ $0.isFinite }) else {
                    throw .badBuckets(family: family.name, reason: "bucket bounds must be finite (+Inf is implied)")
                }
                for i in family.buckets.indices.dropFirst() where family.buckets[i] <= family.buckets[i - 1] {
                    throw .badBuckets(family: family.name, reason: "bucket bounds must be strictly ascending")
                }
            }
        }
        self.families = families
    }

    public static let empty = try! Catalogue(families: [])

    public func family(named name: String) -> FamilyDescriptor? {
        families.first { $0.name == name }
    }
}
