import NIOCore
import NIOHTTP1
import NIOPosix
import TallyCore

/// The HTTP server sockets: one /metrics endpoint per service and the admin endpoint, bound
/// (or adopted from systemd) on the HTTP event loop before any service runs: the admin
/// endpoint first of all, so readiness can be asked while the state is restored.
struct HTTPListeners: Sendable {
    struct Endpoint: Sendable {
        /// The service's name, or "the admin endpoint".
        let name: String
        /// Which service its route serves (nil for the admin endpoint).
        var target: EndpointTarget? = nil
        let channel: any Channel
        /// As bound: port 0 in the config resolved.
        let port: Int
    }

    var services: [Endpoint] = []
    var admin: Endpoint?

    var channels: [any Channel] { services.map(\.channel) + (admin.map { [$0.channel] } ?? []) }

    /// The admin endpoint, bound first (before the saved state is restored), so `/-/healthy`
    /// and `/-/ready` answer while tallyd starts; nil when `admin: null` and nothing was passed.
    static func bindAdmin(
        config: TallyConfig, activation: SocketActivation, threads: Threads, inFlight: InFlightRequests,
        route: @escaping HTTPEndpointHandler.Route
    ) async throws -> Endpoint? {
        guard config.admin != nil || activation.admin != nil else { return nil }
        let address = config.admin ?? HostPort(host: "127.0.0.1", port: 9102)
        let channel = try await bindOne(
            host: address.host, port: address.port, passed: activation.admin, name: "the admin endpoint",
            threads: threads, inFlight: inFlight, route: route)
        return Endpoint(name: "the admin endpoint", channel: channel, port: channel.localAddress?.port ?? address.port)
    }

    /// Every service's endpoint, in config order; on the first failure closes what was bound
    /// and throws a `StartupError` naming the endpoint.
    static func bindServices(
        config: TallyConfig, activation: SocketActivation, threads: Threads, inFlight: InFlightRequests,
        serviceRoute: (EndpointTarget) -> HTTPEndpointHandler.Route
    ) async throws -> [Endpoint] {
        var bound: [Endpoint] = []
        do {
            for service in config.services {
                let target = EndpointTarget(service.name)
                let channel = try await bindOne(
                    host: config.metricsAddress, port: service.port, passed: activation.services[service.name],
                    name: service.name, threads: threads, inFlight: inFlight, route: serviceRoute(target))
                bound.append(
                    Endpoint(
                        name: service.name, target: target, channel: channel,
                        port: channel.localAddress?.port ?? service.port))
            }
        } catch {
            await Binding.closeAll(bound.map(\.channel))
            throw error
        }
        return bound
    }

    /// One endpoint on `host:port` (a reload's new or moved endpoint).
    static func bindService(
        name: String, target: EndpointTarget?, host: String, port: Int, threads: Threads, inFlight: InFlightRequests,
        route: @escaping HTTPEndpointHandler.Route
    ) async throws -> Endpoint {
        let channel = try await bindOne(
            host: host, port: port, passed: nil, name: name, threads: threads, inFlight: inFlight, route: route)
        return Endpoint(name: name, target: target, channel: channel, port: channel.localAddress?.port ?? port)
    }

    private static func bindOne(
        host: String, port: Int, passed: SocketActivation.InetSocket?, name: String, threads: Threads,
        inFlight: InFlightRequests, route: @escaping HTTPEndpointHandler.Route
    ) async throws -> any Channel {
        let bootstrap = ServerBootstrap(group: threads.http)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        HTTPEndpointHandler(name: name, inFlight: inFlight, route: route))
                }
            }
        if let passed {
            return try await Binding.bind("/metrics for \(name) (socket activation, fd \(passed.fd))") {
                try await bootstrap.withBoundSocket(passed.fd).get()
            }
        }
        return try await Binding.bind("/metrics for \(name) on \(HostPort(host: host, port: port))") {
            try await bootstrap.bind(host: host, port: port).get()
        }
    }
}
