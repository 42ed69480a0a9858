import Testing

@testable import TallyServer

/// The admin endpoint's paths, without a socket.
@Suite struct AdminRoutesTests {
    static func routes(debugHooks: Bool = false) throws -> AdminRoutes {
        let registry = try LoadedConfig(TallyConfig.embeddedDefault()).makeRegistry(now: 0)
        return AdminRoutes(
            registry: registry, startTime: 1_700_000_000, udpPorts: [], state: nil, debugHooks: debugHooks,
            ingestLoops: [])
    }

    @Test func metricsAreTheAdminExposition() throws {
        let response = try #require(try Self.routes().route("/metrics"))
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(response.status == .ok)
        #expect(response.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(text.contains("tally_build_info{version=\"\(AdminExposition.version)\"} 1\n"))
        #expect(text.contains("process_start_time_seconds 1700000000"))
        // No state file configured: no state metrics.
        #expect(!text.contains("tally_state_saves_total"))
    }

    @Test func healthz() throws {
        let response = try #require(try Self.routes().route("/healthz"))
        #expect(String(decoding: response.body, as: UTF8.self) == "ok\n")
    }

    /// The wedge hooks exist only with TALLYD_DEBUG_HOOKS=1 (here: asked for, and not).
    @Test func debugHooksAreHiddenUnlessEnabled() throws {
        #expect(try Self.routes().route("/debug/wedge-ingest-loop") == nil)
        #expect(try Self.routes().route("/nope") == nil)
    }
}
