import Synchronization
import TallyCore
import TallySystem

/// A service's endpoint: `/metrics` with that service's series, 404 for any other path, 405
/// for any other method. The admin endpoint's `/metrics?service=NAME` renders the same.
enum MetricsRoute {
    /// The route of `service`'s endpoint, found by name at each scrape (a reload may remove
    /// the service while its endpoint still answers a last request: 404 then).
    static func make(registry: Registry, service: EndpointTarget, scrapes: ScrapeStats) -> HTTPEndpointHandler.Route {
        HTTPEndpointHandler.readOnly { request in
            guard request.path == "/metrics", let index = registry.services.index(of: service.name) else { return nil }
            return render(registry: registry, service: index, format: request.format, scrapes: scrapes)
        }
    }

    static func render(
        registry: Registry, service: Int, format: ExpositionFormat, scrapes: ScrapeStats
    ) -> HTTPEndpointHandler.Response {
        let started = MonotonicClock.now()
        let body = ExpositionRenderer.render(registry, service: service, now: MonotonicClock.now(), format: format)
        scrapes.record(service: service, format: format, seconds: MonotonicClock.now() - started, bytes: body.count)
        return .init(status: .ok, contentType: format.contentType, body: body)
    }
}

/// The service an endpoint serves. A reload that gives a removed service's address to a new
/// one (a rename) points the open endpoint at the new name instead of binding the address twice.
final class EndpointTarget: Sendable {
    private let value: Mutex<String>

    init(_ name: String) { value = Mutex(name) }

    var name: String { value.withLock { $0 } }

    func retarget(_ name: String) { value.withLock { $0 = name } }
}
