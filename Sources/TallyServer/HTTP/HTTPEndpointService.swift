import NIOCore
import ServiceLifecycle

/// Serves every /metrics endpoint and the admin endpoint (bound before the group runs, or by a
/// reload) until shutdown; then stops accepting and lets in-flight scrapes finish (at most
/// 5 s), so no scrape is cut off mid-body.
struct HTTPEndpointService: Service {
    let live: LiveListeners
    let serving: HTTPServing

    func run() async throws {
        await waitForShutdown()
        await Binding.closeAll(live.takeHTTP())
        await serving.inFlight.waitUntilIdle(timeout: 5)
    }
}
