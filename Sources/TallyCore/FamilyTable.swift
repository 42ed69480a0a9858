import Synchronization

/// Every family the daemon knows: the catalogue's, then the undocumented ones created on first
/// use. Family ids are dense and never change meaning within one `generation`, so receive
/// loops cache name → id lookups and come here (under the lock) only for names they have not
/// seen yet. A reloaded catalogue (`Registry.replaceCatalogue`) keeps every family's id by
/// name and bumps the generation, which tells the loops to drop their caches.
public final class FamilyTable: Sendable {
    public enum UnknownPolicy: String, Sendable {
        case accept
        case reject
    }

    public enum Resolution: Sendable, Equatable {
        case found(Int)
        case rejected(RejectReason, String)
        /// No family of that name yet, and `resolve` was asked not to create one.
        case absent
    }

    struct State: Sendable {
        var descriptors: [FamilyDescriptor]
        /// Raw StatsD names and canonical names → family id.
        var aliases = ByteKeyTable(capacity: 256)
        var aliasTargets: [Int32] = []
        var exposedNames: Set<String> = []
        /// Ids of the current catalogue's families, in catalogue order.
        var catalogueIDs: [Int] = []
        var undocumentedCount = 0
        var dropLabels: [String: [String]]
        var defaultBuckets: [Double]
    }

    /// Changeable at runtime (config reload); read only when a name is not yet known.
    public var policy: UnknownPolicy {
        get { policyIsAccept.load(ordering: .relaxed) ? .accept : .reject }
        set { policyIsAccept.store(newValue == .accept, ordering: .relaxed) }
    }
    private let policyIsAccept: Atomic<Bool>
    public let maxFamilies: Int
    private let state: Mutex<State>
    private let generationValue = Atomic<Int>(0)

    public init(
        catalogue: Catalogue, policy: UnknownPolicy, defaultBuckets: [Double], maxFamilies: Int = 10_000,
        dropLabels: [String: [String]] = [:]
    ) {
        policyIsAccept = Atomic(policy == .accept)
        self.maxFamilies = maxFamilies
        var s = State(
            descriptors: catalogue.families.map { $0.dropping(dropLabels[$0.name] ?? []) },
            dropLabels: dropLabels, defaultBuckets: defaultBuckets)
        s.catalogueIDs = Array(s.descriptors.indices)
        Self.rebuildNames(&s)
        state = Mutex(s)
    }

    /// Bumped by every catalogue swap; series keys and cached ids are only valid within one.
    public var generation: Int { generationValue.load(ordering: .acquiring) }

    /// Tells every receive loop to drop its caches on its next packet (services or ingest
    /// settings changed). Only `Registry` calls this, holding every shard lock.
    func bumpGeneration() { generationValue.add(1, ordering: .releasing) }

    /// Families of the running catalogue.
    public var documentedCount: Int { state.withLock { $0.catalogueIDs.count } }

    /// The running catalogue's families (drop_labels applied), in catalogue order.
    public var documented: [FamilyDescriptor] { state.withLock { s in s.catalogueIDs.map { s.descriptors[$0] } } }

    public var undocumentedCount: Int { state.withLock { $0.undocumentedCount } }

    public var defaultBuckets: [Double] { state.withLock { $0.defaultBuckets } }

    /// All families by id (retired ones included: their ids stay taken). Cheap: the array is
    /// shared copy-on-write.
    public func snapshot() -> [FamilyDescriptor] {
        state.withLock { $0.descriptors }
    }

    public func descriptor(_ id: Int) -> FamilyDescriptor {
        state.withLock { $0.descriptors[id] }
    }

    /// Why `dropLabels` cannot apply to `catalogue`, if it cannot: a documented family may only
    /// drop labels it documents, and never `service_name` (the identity tallyd checks).
    public static func problem(dropLabels: [String: [String]], catalogue: Catalogue) -> String? {
        for (name, drop) in dropLabels.sorted(by: { $0.key < $1.key }) {
            guard let family = catalogue.families.first(where: { $0.name == name }), let labels = family.labels else {
                continue
            }
            for label in drop {
                if label == "service_name" {
                    return
                        "limits.families.\(name).drop_labels: service_name cannot be dropped (it is the "
                        + "service's identity)"
                }
                if !labels.contains(label) {
                    return
                        "limits.families.\(name).drop_labels: '\(label)' is not a label of \(name) (its labels: "
                        + "\(labels.joined(separator: ", ")))"
                }
            }
        }
        return nil
    }

    /// Swaps in `catalogue`: a family keeps its id by name; one the catalogue no longer has is
    /// retired. Returns the ids whose series no longer fit (layout changed, retired, or an
    /// undocumented family whose name the catalogue now documents). Only `Registry` calls
    /// this, holding every shard lock, so no series of the old layout can be added after.
    func replace(catalogue: Catalogue, dropLabels: [String: [String]], defaultBuckets: [Double]) -> [Int] {
        state.withLock { s -> [Int] in
            var purge = Set<Int>()
            var byName: [String: Int] = [:]
            for (id, d) in s.descriptors.enumerated() where byName[d.name] == nil || !d.retired {
                byName[d.name] = id
            }
            var descriptors = s.descriptors
            let newNames = Set(catalogue.families.map(\.name))
            for id in s.catalogueIDs where !newNames.contains(descriptors[id].name) {
                descriptors[id].retired = true
                purge.insert(id)
            }
            var catalogueIDs: [Int] = []
            for family in catalogue.families {
                let d = family.dropping(dropLabels[family.name] ?? [])
                if let id = byName[family.name] {
                    if !descriptors[id].hasSameLayout(as: d) { purge.insert(id) }
                    descriptors[id] = d
                    catalogueIDs.append(id)
                } else {
                    catalogueIDs.append(descriptors.count)
                    descriptors.append(d)
                }
            }
            let documented = Set(catalogueIDs)
            var exposed = Set<String>()
            for id in catalogueIDs { exposed.formUnion(descriptors[id].exposedNames) }
            var undocumented = 0
            for id in descriptors.indices where !documented.contains(id) && !descriptors[id].retired {
                // Undocumented families: follow drop_labels; one now clashing with the catalogue goes.
                let drop = dropLabels[descriptors[id].name] ?? []
                if drop != descriptors[id].droppedLabels {
                    descriptors[id].droppedLabels = drop
                    purge.insert(id)
                }
                if descriptors[id].exposedNames.contains(where: exposed.contains) || descriptors[id].isDocumented {
                    descriptors[id].retired = true
                    purge.insert(id)
                } else {
                    exposed.formUnion(descriptors[id].exposedNames)
                    undocumented += 1
                }
            }
            let old = s
            s = State(descriptors: descriptors, dropLabels: dropLabels, defaultBuckets: defaultBuckets)
            s.catalogueIDs = catalogueIDs
            s.undocumentedCount = undocumented
            Self.rebuildNames(&s, keepingUndocumentedAliasesOf: old)
            generationValue.add(1, ordering: .releasing)
            return purge.sorted()
        }
    }

    /// Aliases and exposed names of every live family: the catalogue's names (and a counter's
    /// name without `_total`) first, so they win; then every spelling that led to a live
    /// undocumented family before the swap, so such names resolve exactly as before.
    private static func rebuildNames(_ s: inout State, keepingUndocumentedAliasesOf old: State? = nil) {
        s.aliases = ByteKeyTable(capacity: 256)
        s.aliasTargets = []
        s.exposedNames = []
        let documented = Set(s.catalogueIDs)
        for id in s.catalogueIDs {
            let family = s.descriptors[id]
            s.exposedNames.formUnion(family.exposedNames)
            addAlias(&s, family.name, id)
            if family.type == .counter && family.name.hasSuffix("_total") {
                addAlias(&s, String(family.name.dropLast(6)), id)
            }
        }
        for id in s.descriptors.indices where !documented.contains(id) && !s.descriptors[id].retired {
            s.exposedNames.formUnion(s.descriptors[id].exposedNames)
            addAlias(&s, s.descriptors[id].name, id)
        }
        guard let old else { return }
        for i in 0..<old.aliases.count {
            let id = Int(old.aliasTargets[i])
            guard id < s.descriptors.count, !documented.contains(id), !s.descriptors[id].retired else { continue }
            old.aliases.withKey(at: i) { addAlias(&s, $0, id, hash: old.aliases.hash(at: i)) }
        }
    }

    /// Appends a new undocumented family; its id.
    private static func appendUndocumented(_ s: inout State, _ family: FamilyDescriptor) -> Int {
        let id = s.descriptors.count
        s.descriptors.append(family)
        s.undocumentedCount += 1
        s.exposedNames.formUnion(family.exposedNames)
        return id
    }

    /// Finds the family a line named `raw` (service prefix already removed) belongs to,
    /// creating an undocumented family of the line's kind when the policy allows and `create`
    /// is true (a line already refused for its service creates nothing).
    public func resolve(_ raw: UnsafeRawBufferPointer, kind: SampleKind, create: Bool = true) -> Resolution {
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
                type = .gauge
                canonical = sanitized
            }
            // Another spelling of a family we already have ("a.b" vs "a_b", "x" vs "x_total").
            for name in [sanitized, canonical] {
                let id =
                    name.utf8.withContiguousStorageIfAvailable {
                        s.aliases.find(UnsafeRawBufferPointer($0), hash: ByteHash.hash(UnsafeRawBufferPointer($0)))
                    } ?? nil
                if let id {
                    let target = Int(s.aliasTargets[id])
                    Self.addAlias(&s, raw, target, hash: hash)
                    return .found(target)
                }
            }
            let family = FamilyDescriptor(
                name: canonical, type: type,
                help: "Undocumented metric received over StatsD as '\(sanitized)' (not in the catalogue).",
                labels: nil, buckets: s.defaultBuckets,
                unit: kind == .timer ? .seconds : nil
            ).dropping(Limits.entry(s.dropLabels, canonical) ?? [])
            for name in family.exposedNames where s.exposedNames.contains(name) {
                return .rejected(
                    .nameConflict, "'\(canonical)' would expose '\(name)', which another family already exposes")
            }
            // A name that cannot be made is refused as such even when it will not be made (its
            // line's service is wrong): the reason must not depend on which lines came first.
            guard create else { return .absent }
            guard s.undocumentedCount < maxFamilies else {
                return .rejected(.cardinalityLimit, "already \(maxFamilies) undocumented families")
            }
            let id = Self.appendUndocumented(&s, family)
            Self.addAlias(&s, raw, id, hash: hash)
            Self.addAlias(&s, sanitized, id)
            Self.addAlias(&s, canonical, id)
            return .found(id)
        }
    }

    /// The id of the live family with `d`'s name and layout, creating it if it is undocumented,
    /// new, and the policy allows; nil if the name now means something else. For restoring
    /// saved state: series keys of the returned id have `d`'s label layout.
    public func adopt(_ d: FamilyDescriptor) -> Int? {
        var name = d.name
        return name.withUTF8 { raw -> Int? in
            let key = UnsafeRawBufferPointer(raw)
            let hash = ByteHash.hash(key)
            return state.withLock { s -> Int? in
                if let i = s.aliases.find(key, hash: hash) {
                    let id = Int(s.aliasTargets[i])
                    return s.descriptors[id].hasSameLayout(as: d) ? id : nil
                }
                // A saved family is checked like a catalogue entry (name, buckets, labels).
                guard !d.isDocumented, policy == .accept, s.undocumentedCount < maxFamilies,
                    (try? Catalogue(families: [d])) != nil, !d.exposedNames.contains(where: s.exposedNames.contains)
                else { return nil }
                let id = Self.appendUndocumented(&s, d)
                Self.addAlias(&s, key, id, hash: hash)
                if d.type == .counter && d.name.hasSuffix("_total") {
                    Self.addAlias(&s, String(d.name.dropLast(6)), id)
                }
                return id
            }
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
