import Synchronization

/// Every family the daemon knows: the catalogue's, then the undocumented ones created on first
/// use. Family ids are dense and never change, so receive loops cache name → id lookups and
/// come here (under the lock) only for names they have not seen yet.
public final class FamilyTable: Sendable {
    public enum UnknownPolicy: String, Sendable {
        case accept
        case reject
    }

    public enum Resolution: Sendable, Equatable {
        case found(Int)
        case rejected(RejectReason, String)
    }

    struct State: Sendable {
        var descriptors: [FamilyDescriptor]
        /// Raw StatsD names and canonical names → family id.
        var aliases = ByteKeyTable(capacity: 256)
        var aliasTargets: [Int32] = []
        var exposedNames: Set<String> = []
    }

    public let documentedCount: Int
    /// Changeable at runtime (config reload); read only when a name is not yet known.
    public var policy: UnknownPolicy {
        get { policyIsAccept.load(ordering: .relaxed) ? .accept : .reject }
        set { policyIsAccept.store(newValue == .accept, ordering: .relaxed) }
    }
    private let policyIsAccept: Atomic<Bool>
    public let defaultBuckets: [Double]
    public let maxFamilies: Int
    private let state: Mutex<State>

    public init(catalogue: Catalogue, policy: UnknownPolicy, defaultBuckets: [Double], maxFamilies: Int = 10_000) {
        documentedCount = catalogue.families.count
        policyIsAccept = Atomic(policy == .accept)
        self.defaultBuckets = defaultBuckets
        self.maxFamilies = maxFamilies
        var s = State(descriptors: catalogue.families)
        for (id, family) in catalogue.families.enumerated() {
            s.exposedNames.formUnion(family.exposedNames)
            Self.addAlias(&s, family.name, id)
            if family.type == .counter && family.name.hasSuffix("_total") {
                Self.addAlias(&s, String(family.name.dropLast(6)), id)
            }
        }
        state = Mutex(s)
    }

    /// All families by id. Cheap: the array is shared copy-on-write.
    public func snapshot() -> [FamilyDescriptor] {
        state.withLock { $0.descriptors }
    }

    public func descriptor(_ id: Int) -> FamilyDescriptor {
        state.withLock { $0.descriptors[id] }
    }

    /// Finds the family a line named `raw` (service prefix already removed) belongs to,
    /// creating an undocumented family of the line's kind when the policy allows.
    public func resolve(_ raw: UnsafeRawBufferPointer, kind: SampleKind) -> Resolution {
        let hash = ByteHash.hash(raw)
        return state.withLock { s -> Resolution in
            if let i = s.aliases.find(raw, hash: hash) { return .found(Int(s.aliasTargets[i])) }
            let sanitized = MetricName.sanitize(raw)
            guard policy == .accept else {
                return .rejected(.unknownFamily, "'\(sanitized)' is not in the catalogue")
            }
            let canonical: String
            let type: FamilyType
            switch kind {
            case .counter:
                type = .counter
                canonical = sanitized.hasSuffix("_total") ? sanitized : sanitized + "_total"
            case .gauge:
                type = .gauge
                canonical = sanitized
            case .timer:
                type = .histogram
                canonical = Self.secondsName(sanitized)
            case .histogram, .distribution:
                type = .histogram
                canonical = sanitized
            case .set:
                return .rejected(.unsupportedType, "sets (|s) are not supported yet")
            }
            // Another spelling of a family we already have ("a.b" vs "a_b", "x" vs "x_total").
            for name in [sanitized, canonical] {
                let id = name.utf8.withContiguousStorageIfAvailable { s.aliases.find(UnsafeRawBufferPointer($0), hash: ByteHash.hash(UnsafeRawBufferPointer($0))) } ?? nil
                if let id {
                    let target = Int(s.aliasTargets[id])
                    Self.addAlias(&s, raw, target, hash: hash)
                    return .found(target)
                }
            }
            guard s.descriptors.count < documentedCount + maxFamilies else {
                return .rejected(.cardinalityLimit, "already \(maxFamilies) undocumented families")
            }
            let family = FamilyDescriptor(
                name: canonical, type: type,
                help: "Undocumented metric received over StatsD as '\(sanitized)' (not in the catalogue).",
                labels: nil, buckets: defaultBuckets,
                unit: kind == .timer ? .seconds : nil)
            for name in family.exposedNames where s.exposedNames.contains(name) {
                return .rejected(.nameConflict, "'\(canonical)' would expose '\(name)', which another family already exposes")
            }
            let id = s.descriptors.count
            s.descriptors.append(family)
            s.exposedNames.formUnion(family.exposedNames)
            Self.addAlias(&s, raw, id, hash: hash)
            Self.addAlias(&s, sanitized, id)
            Self.addAlias(&s, canonical, id)
            return .found(id)
        }
    }

    /// `x_ms`/`x_milliseconds` → `x_seconds`; `x_seconds` stays; anything else gets `_seconds`.
    static func secondsName(_ name: String) -> String {
        if name.hasSuffix("_seconds") { return name }
        for suffix in ["_milliseconds", "_ms"] where name.hasSuffix(suffix) {
            return String(name.dropLast(suffix.count)) + "_seconds"
        }
        return name + "_seconds"
    }

    private static func addAlias(_ s: inout State, _ name: String, _ id: Int) {
        var name = name
        name.withUTF8 { addAlias(&s, UnsafeRawBufferPointer($0), id, hash: ByteHash.hash(UnsafeRawBufferPointer($0))) }
    }

    private static func addAlias(_ s: inout State, _ raw: UnsafeRawBufferPointer, _ id: Int, hash: UInt64) {
        guard s.aliases.find(raw, hash: hash) == nil else { return }
        s.aliases.insert(raw, hash: hash)
        s.aliasTargets.append(Int32(id))
    }
}
