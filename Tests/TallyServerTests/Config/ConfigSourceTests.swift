import Testing

@testable import TallyServer

@Suite struct ConfigSourceTests {
    @Test func theEmbeddedCopyAndAFileSayWhereTheyCameFrom() throws {
        let embedded = TallyConfig.embeddedDefault()
        #expect(embedded.locations.origin == .embedded && embedded.locations.origin.path == nil)
        let file = try TallyConfig.parse(yaml: "heartbeat_timeout: 10s\n", source: "/etc/tally/tallyd.yaml")
        #expect(file.locations.origin == .file("/etc/tally/tallyd.yaml"))
        #expect(file.locations.origin.path == "/etc/tally/tallyd.yaml")
    }

    /// What a file means does not depend on its name: one called like the embedded copy still
    /// changes only the keys it names (the sentinel string once made it the whole config).
    @Test func aFileNamedLikeTheEmbeddedCopyIsStillAFile() throws {
        let c = try TallyConfig.parse(yaml: "heartbeat_timeout: 10s\n", source: "<embedded tallyd.yaml>")
        #expect(c.heartbeatTimeout == 10)
        #expect(c.services.map(\.name) == TallyConfig.embeddedDefault().services.map(\.name))
        #expect(c.locations.origin == .file("<embedded tallyd.yaml>"))
    }
}
