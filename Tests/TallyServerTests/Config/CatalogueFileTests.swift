import Testing

@testable import TallyCore
@testable import TallyServer

@Suite struct CatalogueFileTests {
    let catalogue = CatalogueLoader.embedded()

    @Test func fortyFiveFamiliesInElevenCategories() {
        #expect(catalogue.families.count == 45)
        var perCategory: [String: Int] = [:]
        for f in catalogue.families { perCategory[f.category, default: 0] += 1 }
        #expect(
            perCategory == [
                "http": 4, "service_health": 3, "database": 3, "rabbitmq": 3, "redis": 3, "data_collection": 5,
                "trading": 8, "goals": 4, "risk": 3, "ml": 5, "alerts": 4,
            ])
    }

    @Test func mlHistogramsHaveTheirOwnBuckets() {
        #expect(
            catalogue.family(named: "ml_model_prediction_duration_seconds")?.buckets == [
                0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0,
            ])
        #expect(
            catalogue.family(named: "ml_model_training_duration_seconds")?.buckets == [10, 30, 60, 120, 300, 600, 1800])
        #expect(catalogue.family(named: "db_connections_total")?.type == .gauge)
    }

    /// The seed spec is the product spec: every family it shows must be in the catalogue with
    /// the same type and labels. Skips (with the reason) in a clone without ../shared/.
    @Test(
        .enabled(
            if: RepoFiles.seedSpec() != nil,
            "../shared/seed/ is not beside this checkout (only the project's own machines have it)"))
    func matchesTheSeedSpec() throws {
        let spec = try #require(RepoFiles.seedSpec())
        var inBlock = false
        var found: [String: (suffixes: Set<String>, labels: Set<String>, category: String)] = [:]
        var category = ""
        for line in spec.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("### "), let dot = line.firstIndex(of: ".") {
                category = String(line[line.index(after: dot)...]).trimmingCharacters(in: .whitespaces)
            }
            if line.hasPrefix("```") {
                inBlock = line == "```prometheus"
                continue
            }
            guard inBlock, let brace = line.firstIndex(of: "{"), !line.hasPrefix("#") else { continue }
            var name = String(line[..<brace])
            var suffix = ""
            for s in ["_bucket", "_sum"] where name.hasSuffix(s) {
                name = String(name.dropLast(s.count))
                suffix = s
            }
            let body = line[line.index(after: brace)..<line.lastIndex(of: "}")!]
            let labels = body.split(separator: ",").map {
                $0.split(separator: "=")[0].trimmingCharacters(in: .whitespaces)
            }
            var entry = found[name] ?? ([], [], category)
            entry.suffixes.insert(suffix)
            entry.labels.formUnion(labels.filter { $0 != "le" })
            found[name] = entry
        }
        #expect(found.count == 45, "the spec shows \(found.count) families")
        for (name, spec) in found.sorted(by: { $0.key < $1.key }) {
            guard let family = catalogue.family(named: name) else {
                Issue.record("\(name) (\(spec.category)) is in the seed spec but not in config/families.yaml")
                continue
            }
            let expectedType: FamilyType =
                spec.suffixes.contains("_bucket")
                ? .histogram
                : spec.suffixes.contains("_sum")
                    ? .summary
                    : name.hasSuffix("_total") && name != "db_connections_total" ? .counter : .gauge
            #expect(family.type == expectedType, "\(name)")
            #expect(Set(family.labels ?? []) == spec.labels, "\(name)")
        }
    }
}
