import TallyCore
import TallySystem

/// A service's endpoint: `/metrics` with that service's series, 404 for any other path, 405
/// for any other method. The admin endpoint's `/metrics?service=NAME` renders the same.
enum MetricsRoute {
    static func make(registry: Registry, service: Int, scrapes: ScrapeStats) -> HTTPEndpointHandler.Route {
        HTTPEndpointHandler.readOnly { request in
            guard request.path == "/metrics" else { return nil }
            return render(registry: registry, service: service, scrapes: scrapes)
        }
    }

    static func render(registry: Registry, service: Int, scrapes: ScrapeStats) -> HTTPEndpointHandler.Response {
        let started = MonotonicClock.now()
        let body = ExpositionRenderer.render(registry, service: service, now: WallClock.now())
        scrapes.record(service: service, seconds: MonotonicClock.now() - started, bytes: body.count)
        return .init(status: .ok, contentType: ExpositionRenderer.contentType, body: body)
    }
}
