import Testing

@testable import TallyCore
@testable import TallyServer

/// The checks that need the catalogue or the machine, all in what `--check-config` runs.
@Suite struct LoadedConfigTests {
    static func loaded(_ yaml: String) throws -> LoadedConfig {
        try LoadedConfig(TallyConfig.parse(yaml: yaml, source: "t.yaml"))
    }

    static func message(_ yaml: String) -> String {
        do {
            _ = try loaded(yaml)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    /// A wrong drop_labels entry is the config's mistake: its file and line, not the catalogue's.
    @Test func dropLabelsErrorsNameTheConfigLine() {
        let m = Self.message("log_level: info\nlimits:\n  families:\n    orders_placed_total: {drop_labels: [nope]}\n")
        #expect(m.hasPrefix("t.yaml:4: limits.families.orders_placed_total.drop_labels: 'nope' is not a label"), "\(m)")
        let s = Self.message("limits:\n  families:\n    http_requests_total: {drop_labels: [service_name]}\n")
        #expect(s.hasPrefix("t.yaml:3: limits.families.http_requests_total.drop_labels: service_name cannot"), "\(s)")
    }

    @Test func aLimitForNoDocumentedFamilyIsAWarningWithTheNearestName() throws {
        let l = try Self.loaded("limits:\n  families:\n    orders_placd_total: 5\n    orders_placed_total: 7\n")
        #expect(l.warnings.count == 1)
        #expect(l.warnings.first?.hasPrefix("t.yaml:3: limits.families.orders_placd_total names no documented") == true)
        #expect(l.warnings.first?.contains("did you mean orders_placed_total?") == true)
        #expect(try Self.loaded("limits: {families: {orders_placed: 5}}\n").warnings.isEmpty)
    }

    @Test func aUnixSocketNeedsItsGroupAndDirectory() {
        let group = Self.message("ingest:\n  unix: [{path: /tmp/t.sock, group: no-such-group-zz}]\n")
        #expect(group.hasPrefix("t.yaml:2: ingest.unix[0].group: group 'no-such-group-zz' does not exist"), "\(group)")
        let dir = Self.message("ingest:\n  unix: [{path: /no/such/dir/t.sock}]\n")
        #expect(dir.hasPrefix("t.yaml:2: ingest.unix[0].path: the directory /no/such/dir does not exist"), "\(dir)")
        #expect(Self.message("ingest:\n  unix: [{path: /tmp/t.sock, group: root}]\n") == "accepted")
    }

    @Test func theDefaultConfigListsTheStateKeys() {
        #expect(TallyConfig.defaultYAML.contains("\nstate_file: null"))
        #expect(TallyConfig.defaultYAML.contains("\nstate_interval: 60s"))
    }
}
