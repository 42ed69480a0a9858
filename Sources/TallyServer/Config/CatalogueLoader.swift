import TallyCore

/// Reads a families file (see config/families.yaml) into a validated `Catalogue`.
public enum CatalogueLoader {
    /// The catalogue compiled into the binary (config/families.yaml).
    public static let embeddedYAML = EmbeddedConfig.familiesYAML + "\n"

    public static func embedded() -> Catalogue {
        try! parse(yaml: embeddedYAML, source: "<embedded families.yaml>")
    }

    public static func parse(yaml: String, source: String) throws(ConfigError) -> Catalogue {
        let root = try ConfigNode.parse(yaml: yaml, source: source)
        let top = try root.mapping(allowed: ["categories"])
        guard let categories = top["categories"] else { throw root.error("needs a 'categories' list") }
        var families: [FamilyDescriptor] = []
        var nodes: [ConfigNode] = []
        for category in try categories.sequence() {
            let c = try category.mapping(allowed: ["name", "title", "buckets", "families"])
            guard let nameNode = c["name"] else { throw category.error("needs a name") }
            let categoryName = try nameNode.string()
            let buckets = try c["buckets"].map { n throws(ConfigError) in try n.doubleList() }
            guard let list = c["families"] else { throw category.error("needs a families list") }
            for f in try list.sequence() {
                let m = try f.mapping(allowed: ["name", "type", "help", "labels", "buckets"])
                guard let n = m["name"], let t = m["type"] else { throw f.error("needs name and type") }
                let typeText = try t.string()
                guard let type = FamilyType(rawValue: typeText) else {
                    throw t.error("'\(typeText)' is not one of counter, gauge, histogram, summary")
                }
                let own = try m["buckets"].map { n throws(ConfigError) in try n.doubleList() }
                let familyBuckets = own ?? buckets ?? []
                if type == .histogram && familyBuckets.isEmpty {
                    throw f.error("a histogram needs buckets (on the family or its category)")
                }
                families.append(
                    FamilyDescriptor(
                        name: try n.string(), type: type,
                        help: try m["help"].map { n throws(ConfigError) in try n.string() } ?? "",
                        labels: try m["labels"].map { n throws(ConfigError) in try n.stringList() } ?? [],
                        buckets: familyBuckets, category: categoryName))
                nodes.append(f)
            }
        }
        do {
            return try Catalogue(families: families)
        } catch {
            // Point at the family the problem is about.
            let name: String
            switch error {
            case .invalidFamilyName(let n), .duplicateFamily(let n), .counterWithoutTotal(let n): name = n
            case .invalidLabelName(let f, _), .duplicateLabel(let f, _), .reservedLabel(let f, _),
                .exemplarLabel(let f, _), .badBuckets(let f, _):
                name = f
            }
            let index = families.lastIndex { $0.name == name }
            throw (index.map { nodes[$0] } ?? root).error(error.description)
        }
    }
}
