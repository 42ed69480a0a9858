import NIOCore
import NIOHTTP1
import TallyCore
import TallySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The admin endpoint's paths: tallyd's own metrics (and any service's, with `?service=`),
/// health and readiness, reload, and (only with `TALLYD_DEBUG_HOOKS=1`) the hooks the watchdog
/// and drop tests use to wedge the ingest loops.
struct AdminRoutes: Sendable {
    let registry: Registry
    let startTime: Double
    /// nil when no state file is configured (no state metrics then).
    let state: StateStore?
    let debugHooks: Bool
    let ingestLoops: [any EventLoop]
    /// What `/debug/wedge-ingest-loops` sets: the UDP receive threads stop reading.
    var wedge = DebugWedge()
    let listeners: ListenerDirectory
    let readiness: Readiness
    let reloads: ReloadRequests
    let reloadStats: ReloadStats
    let scrapes: ScrapeStats
    let serving: HTTPServing
    let tcpSettings: TCPSettings
    var remoteWrite: RemoteWriteService? = nil
    let status: StatusSources

    func route(_ request: HTTPEndpointHandler.Request, _ loop: any EventLoop) -> HTTPEndpointHandler.Reply? {
        if request.path == "/-/reload" {
            guard request.method == .POST || request.method == .PUT else {
                return .now(.methodNotAllowed(request.method, allow: "POST"))
            }
            let promise = loop.makePromise(of: HTTPEndpointHandler.Response.self)
            reloads.submit { outcome in
                promise.succeed(
                    outcome.ok
                        ? .text("ok\n\(outcome.message)\n") : .text("\(outcome.message)\n", status: .badRequest))
            }
            return .later(promise.futureResult)
        }
        guard request.isRead else {
            return known(request.path) ? .now(.methodNotAllowed(request.method, allow: "GET, HEAD")) : nil
        }
        return read(request).map { .now($0) }
    }

    private func known(_ path: String) -> Bool {
        ["/", "/api/v1/status", "/metrics", "/healthz", "/-/healthy", "/-/ready"].contains(path)
    }

    private func read(_ request: HTTPEndpointHandler.Request) -> HTTPEndpointHandler.Response? {
        switch request.path {
        case "/":
            return .init(status: .ok, contentType: "text/html; charset=utf-8", body: StatusPage.render(status.report()))
        case "/api/v1/status":
            return .init(status: .ok, contentType: "application/json", body: status.report().json())
        case "/metrics":
            if let name = request.query["service"] {
                guard let service = registry.services.index(of: name) else {
                    let names = registry.services.names.joined(separator: ", ")
                    return .text("unknown service '\(name)'; the configured services: \(names)\n", status: .notFound)
                }
                return MetricsRoute.render(
                    registry: registry, service: service, format: request.format, scrapes: scrapes)
            }
            var body = AdminExposition.render(
                registry: registry, startTime: startTime, udpPorts: listeners.udpPorts, state: state?.stats,
                listeners: listeners, reloads: reloadStats.current, scrapes: scrapes)
            var w = TextWriter(capacity: 4096)
            ConnectionExposition.render(
                &w, serving: serving, tcp: tcpSettings, endpoints: registry.services.names + ["admin"])
            RemoteWriteExposition.render(&w, remoteWrite?.stats ?? [])
            body += w.bytes
            return .init(status: .ok, contentType: ExpositionRenderer.contentType, body: body)
        case "/healthz", "/-/healthy":
            return .text("ok\n")
        case "/-/ready":
            switch readiness.state {
            case .ready: return .text("ready\n")
            case .starting:
                return .text("starting: restoring the saved state and binding listeners\n", status: .serviceUnavailable)
            case .stopping: return .text("stopping\n", status: .serviceUnavailable)
            }
        case "/debug/wedge-ingest-loop" where debugHooks:
            // For the watchdog test: blocks one ingest event loop for good.
            ingestLoops[0].execute { while true { sleep(1) } }
            return .text("wedged one ingest loop\n")
        case "/debug/wedge-ingest-loops" where debugHooks:
            // For the drop-accounting test: no loop reads, the kernel queues fill up.
            wedge.set()
            for loop in ingestLoops { loop.execute { while true { sleep(1) } } }
            return .text("wedged every ingest loop\n")
        default:
            return nil
        }
    }
}
