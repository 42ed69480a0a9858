import NIOCore
import TallyCore

#if canImport(Glibc)
    import Glibc
#endif

/// The admin endpoint's paths: tallyd's own metrics, a health check, and (only with
/// `TALLYD_DEBUG_HOOKS=1`) the hooks the watchdog and drop tests use to wedge event loops.
struct AdminRoutes: Sendable {
    let registry: Registry
    let startTime: Double
    let udpPorts: [Int]
    /// nil when no state file is configured (no state metrics then).
    let state: StateStore?
    let debugHooks: Bool
    let ingestLoops: [any EventLoop]
    var listeners: ListenerDirectory? = nil

    func route(_ path: String) -> HTTPEndpointHandler.Response? {
        switch path {
        case "/metrics":
            return .init(
                status: .ok, contentType: ExpositionRenderer.contentType,
                body: AdminExposition.render(
                    registry: registry, startTime: startTime, udpPorts: udpPorts, state: state?.stats,
                    listeners: listeners))
        case "/healthz":
            return .text("ok\n")
        case "/debug/wedge-ingest-loop" where debugHooks:
            // For the watchdog test: blocks one ingest event loop for good.
            ingestLoops[0].execute { while true { sleep(1) } }
            return .text("wedged one ingest loop\n")
        case "/debug/wedge-ingest-loops" where debugHooks:
            // For the drop-accounting test: no loop reads, the kernel queues fill up.
            for loop in ingestLoops { loop.execute { while true { sleep(1) } } }
            return .text("wedged every ingest loop\n")
        default:
            return nil
        }
    }
}
