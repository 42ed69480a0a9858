import Testing

@testable import TallyCore
@testable import TallyServer

@Suite struct ConfigTests {
    @Test func embeddedCopiesEqualTheShippedFiles() throws {
        #expect(TallyConfig.defaultYAML == (try RepoFiles.text("config/tallyd.yaml")))
        #expect(CatalogueLoader.embeddedYAML == (try RepoFiles.text("config/families.yaml")))
    }

    @Test func embeddedDefaultIsTheDocumentedOne() {
        let c = TallyConfig.embeddedDefault()
        #expect(c.udp == [.init(host: "127.0.0.1", port: 8125)])
        #expect(c.metricsAddress == "127.0.0.1")
        #expect(
            c.services.map(\.name) == [
                "strategy_service", "risk_manager", "alert_system", "api_gateway", "market_data_service",
                "order_executor",
            ])
        #expect(c.services.map(\.port) == [8003, 8002, 8007, 8080, 9001, 9002])
        #expect(c.cataloguePath == nil)
        #expect(c.unknownFamilies == .accept)
        #expect(c.defaultService == nil)
        #expect(c.defaultBuckets == [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0])
        #expect(c.heartbeatTimeout == 30)
        #expect(c.logLevel == .info)
    }

    @Test func partialConfigKeepsDefaultsForTheRest() throws {
        let c = try TallyConfig.parse(yaml: "heartbeat_timeout: 2m\nunknown_families: reject\n", source: "t.yaml")
        #expect(c.heartbeatTimeout == 120)
        #expect(c.unknownFamilies == .reject)
        #expect(c.services.count == 6)
    }

    static let bad: [(String, String)] = [
        ("bogus: 1\n", "t.yaml:1: bogus: unknown key"),
        ("ingest:\n  udp: 8125\n", "t.yaml:2: ingest.udp: expected a list"),
        ("ingest:\n  udp: [\"nope\"]\n", "t.yaml:2: ingest.udp[0]: 'nope' is not host:port"),
        ("ingest:\n  sctp: []\n", "t.yaml:2: ingest.sctp: unknown key"),
        ("ingest:\n  unix: [{path: /tmp/x.sock, mode: \"999\"}]\n", "ingest.unix[0].mode"),
        ("ingest:\n  max_line_length: 10\n", "ingest.max_line_length"),
        ("ingest:\n  tcp: [\"nohost\"]\n", "ingest.tcp"),
        ("services:\n  a: {port: 1}\n  b: {port: 1}\n", "services: port 1 is used by both a and b"),
        ("services:\n  a: {port: 70000}\n", "t.yaml:2: services.a.port: port 70000 is outside"),
        ("services:\n  a.b: {port: 1}\n", "services.a.b: service name must match"),
        ("services:\n  a: {port: 1, colour: red}\n", "t.yaml:2: services.a.colour: unknown key"),
        ("default_service: nobody\n", "t.yaml:1: default_service: 'nobody' is not one of the configured services"),
        ("heartbeat_timeout: soon\n", "t.yaml:1: heartbeat_timeout: 'soon' is not a duration"),
        ("unknown_families: maybe\n", "t.yaml:1: unknown_families: must be accept or reject"),
        ("default_buckets: [1, 0.5]\n", "t.yaml:1: default_buckets: bucket bounds must be strictly ascending"),
        ("log_level: loud\n", "t.yaml:1: log_level: must be one of"),
        ("admin: {port: 8003}\n", "port 8003 is used by both the admin endpoint and strategy_service"),
        ("services: [1, 2]\n", "t.yaml:1: services: expected a mapping"),
        ("ingest: {udp: [\n", "not valid YAML"),
        ("", "the file is empty"),
    ]

    @Test(arguments: bad)
    func invalidConfigNamesKeyAndLine(_ yaml: String, _ message: String) {
        do {
            _ = try TallyConfig.parse(yaml: yaml, source: "t.yaml")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }

    @Test func catalogueErrorsPointAtTheFamily() {
        let yaml = """
            categories:
              - name: x
                families:
                  - {name: ok_total, type: counter, labels: [a]}
                  - {name: broken, type: counter, labels: [a]}
            """
        #expect {
            try CatalogueLoader.parse(yaml: yaml, source: "f.yaml")
        } throws: { error in
            "\(error)".contains("f.yaml:5") && "\(error)".contains("must end in _total")
        }
    }
}

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
