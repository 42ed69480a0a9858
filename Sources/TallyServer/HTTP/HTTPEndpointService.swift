import NIOCore
import ServiceLifecycle

/// Serves every /metrics endpoint and the admin endpoint (bound before the group runs) until
/// shutdown; then stops accepting and lets in-flight scrapes finish (at most 5 s), so no
/// scrape is cut off mid-body.
struct HTTPEndpointService: Service {
    let listeners: HTTPListeners
    let inFlight: InFlightRequests

    func run() async throws {
        await waitForShutdown()
        await Binding.closeAll(listeners.channels)
        await inFlight.waitUntilIdle(timeout: 5)
    }
}
