import TallyCore
import TallySystem

/// A service's endpoint: `/metrics` with that service's series, 404 for anything else.
enum MetricsRoute {
    static func make(registry: Registry, service: Int) -> HTTPEndpointHandler.Route {
        { path in
            guard path == "/metrics" else { return nil }
            return .init(
                status: .ok, contentType: ExpositionRenderer.contentType,
                body: ExpositionRenderer.render(registry, service: service, now: WallClock.now()))
        }
    }
}
