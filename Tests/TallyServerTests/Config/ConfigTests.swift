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
        (
            "services:\n  a: {port: 1}\n  b: {port: 1}\n",
            "t.yaml:3: services.b.port: TCP 127.0.0.1:1 is also services.a.port (t.yaml:2): two listeners cannot share"
        ),
        ("services:\n  a: {port: 70000}\n", "t.yaml:2: services.a.port: port 70000 is outside"),
        ("services:\n  a.b: {port: 1}\n", "services.a.b: service name must match"),
        ("services:\n  a: {port: 1, colour: red}\n", "t.yaml:2: services.a.colour: unknown key"),
        ("default_service: nobody\n", "t.yaml:1: default_service: 'nobody' is not one of the configured services"),
        ("heartbeat_timeout: soon\n", "t.yaml:1: heartbeat_timeout: 'soon' is not a duration"),
        ("unknown_families: maybe\n", "t.yaml:1: unknown_families: must be accept or reject"),
        ("default_buckets: [1, 0.5]\n", "t.yaml:1: default_buckets: bucket bounds must be strictly ascending"),
        ("log_level: loud\n", "t.yaml:1: log_level: must be one of"),
        (
            "admin: {port: 8003}\n",
            "t.yaml:1: admin.port: TCP 127.0.0.1:8003 is also services.strategy_service.port (the default)"
        ),
        (
            "ingest: {tcp: [\"127.0.0.1:9102\"]}\n",
            "t.yaml:1: ingest.tcp[0]: TCP 127.0.0.1:9102 is also admin.port (the default)"
        ),
        (
            "ingest:\n  udp: [\"127.0.0.1:8125\", \"0.0.0.0:8125\"]\n",
            "t.yaml:2: ingest.udp[1]: UDP 0.0.0.0:8125 is also ingest.udp[0] (t.yaml:2)"
        ),
        (
            "ingest:\n  unix: [{path: /tmp/a.sock}, {path: /tmp/a.sock}]\n",
            "t.yaml:2: ingest.unix[1].path: Unix /tmp/a.sock is also ingest.unix[0].path"
        ),
        (
            "metrics: {address: 0.0.0.0}\nadmin: {address: 127.0.0.1, port: 9001}\n",
            "t.yaml:2: admin.port: TCP 127.0.0.1:9001 is also services.market_data_service.port (the default)"
        ),
        ("ingest: {udp: [\n", "t.yaml:2:1: not valid YAML: did not find expected node content"),
        ("services:\n  a: {port: 1\n  b: 2\n", "t.yaml:3:4: not valid YAML: did not find expected ',' or '}'"),
        ("services: [1, 2]\n", "t.yaml:1: services: expected a mapping"),
    ]

    /// Port 0 is "any free port": it never clashes, and UDP and TCP on one port do not either.
    @Test func portZeroAndDifferentProtocolsNeverClash() throws {
        let c = try TallyConfig.parse(
            yaml: "admin: {port: 0}\nservices:\n  a: {port: 0}\n  b: {port: 0}\ningest: {tcp: [\"127.0.0.1:8125\"]}\n",
            source: "t.yaml")
        #expect(c.services.map(\.port) == [0, 0])
        #expect(c.udp.first?.port == 8125 && c.tcp.first?.port == 8125)
    }

    /// "A file only needs the keys it changes": one that changes none is all defaults.
    @Test(arguments: ["", "# nothing yet\n", "\n\n"])
    func anEmptyFileIsAllDefaults(_ yaml: String) throws {
        #expect(try TallyConfig.parse(yaml: yaml, source: "t.yaml") == TallyConfig.embeddedDefault())
    }

    @Test(arguments: ["a: [\nb: c\n", "log_level: info\nlog_level: debug\n", "\"unclosed: 1\n"])
    func aYAMLErrorIsOneLine(_ yaml: String) {
        do {
            _ = try TallyConfig.parse(yaml: yaml, source: "t.yaml")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(!error.description.contains("\n"), "\(error.description)")
            #expect(error.description.hasPrefix("t.yaml"))
            #expect(error.description.contains("not valid YAML"))
        }
    }

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
