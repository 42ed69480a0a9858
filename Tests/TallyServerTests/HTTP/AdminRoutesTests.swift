import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import Testing

@testable import TallyServer

/// The admin endpoint's paths, without a socket.
@Suite struct AdminRoutesTests {
    static func routes(debugHooks: Bool = false, readiness: Readiness = Readiness()) throws -> AdminRoutes {
        let registry = try LoadedConfig(TallyConfig.embeddedDefault()).makeRegistry(now: 0)
        let (listeners, reloadStats) = (ListenerDirectory(), ReloadStats(startTime: 1_700_000_000))
        return AdminRoutes(
            registry: registry, startTime: 1_700_000_000, state: nil, debugHooks: debugHooks, ingestLoops: [],
            listeners: listeners, readiness: readiness, reloads: ReloadRequests(), reloadStats: reloadStats,
            scrapes: ScrapeStats(), serving: HTTPEndpointHandlerTests.serving(),
            tcpSettings: TCPSettings(idle: 300, maxLine: 8192),
            status: StatusSources(
                registry: registry, startTime: 1_700_000_000, configPath: nil,
                sampler: StatusSampler(registry: registry),
                recent: RecentRejections(), listeners: listeners, readiness: readiness, reloads: reloadStats,
                state: nil))
    }

    static func get(_ routes: AdminRoutes, _ uri: String, method: HTTPMethod = .GET) -> HTTPEndpointHandler.Response? {
        switch routes.route(.init(method: method, uri: uri), EmbeddedEventLoop()) {
        case .now(let r)?: return r
        case .later?: return nil
        case nil: return nil
        }
    }

    static func text(_ r: HTTPEndpointHandler.Response?) -> String { String(decoding: r?.body ?? [], as: UTF8.self) }

    @Test func metricsAreTheAdminExposition() throws {
        let response = try #require(Self.get(try Self.routes(), "/metrics"))
        let text = Self.text(response)
        #expect(response.status == .ok)
        #expect(response.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(text.contains("tally_build_info{version=\"\(AdminExposition.version)\"} 1\n"))
        #expect(text.contains("process_start_time_seconds 1700000000"))
        #expect(text.contains("tally_config_reloads_total{result=\"failure\"} 0\n"))
        #expect(text.contains("tally_scrapes_total{service=\"risk_manager\",format=\"text\"} 0\n"))
        // No state file configured: no state metrics.
        #expect(!text.contains("tally_state_saves_total"))
    }

    /// `?service=` serves exactly what that service's endpoint serves; an unknown one is a 404
    /// naming the configured services.
    @Test func metricsOfOneService() throws {
        let routes = try Self.routes()
        let one = try #require(Self.get(routes, "/metrics?service=risk_manager"))
        #expect(Self.text(one).contains("service_up{service_name=\"risk_manager\"} 0"))
        #expect(!Self.text(one).contains("tally_build_info"))
        let unknown = try #require(Self.get(routes, "/metrics?service=nope"))
        #expect(unknown.status == .notFound)
        #expect(Self.text(unknown).contains("unknown service 'nope'; the configured services: strategy_service, "))
    }

    @Test func healthAndReadiness() throws {
        let readiness = Readiness()
        let routes = try Self.routes(readiness: readiness)
        for path in ["/healthz", "/-/healthy"] { #expect(Self.text(Self.get(routes, path)) == "ok\n") }
        #expect(Self.get(routes, "/-/ready")?.status == .serviceUnavailable)
        readiness.ready()
        #expect(Self.get(routes, "/-/ready")?.status == .ok)
        readiness.stopping()
        #expect(Self.get(routes, "/-/ready")?.status == .serviceUnavailable)
        readiness.ready()  // never back from stopping
        #expect(Self.get(routes, "/-/ready")?.status == .serviceUnavailable)
    }

    /// POST waits for the reload service's outcome: 200 with `ok` and the summary, or 400.
    @Test func reloadTakesPostOnlyAndAnswersWithTheOutcome() async throws {
        let routes = try Self.routes()
        let get = try #require(Self.get(routes, "/-/reload"))
        #expect(get.status == .methodNotAllowed)
        #expect(get.headers.contains { $0 == ("Allow", "POST") })
        #expect(Self.get(routes, "/metrics", method: .POST)?.status == .methodNotAllowed)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var requests = routes.reloads.stream.makeAsyncIterator()
        for outcome in [
            ReloadRequests.Outcome(ok: true, message: "reloaded; applied limits"),
            .init(ok: false, message: "t.yaml:1: bad"),
        ] {
            guard case .later(let future)? = routes.route(.init(method: .POST, uri: "/-/reload"), group.next()) else {
                Issue.record("POST /-/reload must wait for the reload service")
                return
            }
            let request = try #require(await requests.next())
            request.reply(outcome)
            let response = try await future.get()
            #expect(response.status == (outcome.ok ? .ok : .badRequest))
            #expect(Self.text(response) == (outcome.ok ? "ok\nreloaded; applied limits\n" : "t.yaml:1: bad\n"))
        }
        try await group.shutdownGracefully()
    }

    /// The wedge hooks exist only with TALLYD_DEBUG_HOOKS=1.
    @Test func debugHooksAreHiddenUnlessEnabled() throws {
        #expect(Self.get(try Self.routes(), "/debug/wedge-ingest-loop") == nil)
        #expect(Self.get(try Self.routes(), "/nope") == nil)
    }

    /// The page and the JSON come from the same report; sender bytes are escaped in the page.
    @Test func statusPageAndJSON() throws {
        let routes = try Self.routes()
        let page = try #require(Self.get(routes, "/"))
        #expect(page.contentType == "text/html; charset=utf-8")
        let html = Self.text(page)
        #expect(html.contains("<tr data-service=\"risk_manager\" data-state=\"down\">"))
        #expect(!html.contains("<script"))
        let json = try #require(Self.get(routes, "/api/v1/status"))
        let report = try StatusReport.decode(json.body)
        #expect(report.services.map(\.name).count == 6)
        #expect(report.version == AdminExposition.version)
        #expect(
            StatusPage.esc("<script>\"a\"&'b'</script>") == "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;"
        )
    }
}
