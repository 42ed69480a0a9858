import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
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
        config: TallyConfig, activation: SocketActivation, threads: Threads, serving: HTTPServing,
        route: @escaping HTTPEndpointHandler.Route
    ) async throws -> Endpoint? {
        guard config.admin != nil || activation.admin != nil else { return nil }
        let address = config.admin ?? HostPort(host: "127.0.0.1", port: 9102)
        let channel = try await bindOne(
            host: address.host, port: address.port, passed: activation.admin, name: "the admin endpoint",
            threads: threads, serving: serving, route: route)
        return Endpoint(name: "the admin endpoint", channel: channel, port: channel.localAddress?.port ?? address.port)
    }

    /// Every service's endpoint, in config order; on the first failure closes what was bound
    /// and throws a `StartupError` naming the endpoint.
    static func bindServices(
        config: TallyConfig, activation: SocketActivation, threads: Threads, serving: HTTPServing,
        serviceRoute: (EndpointTarget) -> HTTPEndpointHandler.Route
    ) async throws -> [Endpoint] {
        var bound: [Endpoint] = []
        do {
            for service in config.services {
                let target = EndpointTarget(service.name)
                let channel = try await bindOne(
                    host: config.metricsAddress, port: service.port, passed: activation.services[service.name],
                    name: service.name, threads: threads, serving: serving, route: serviceRoute(target))
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
        name: String, target: EndpointTarget?, host: String, port: Int, threads: Threads, serving: HTTPServing,
        route: @escaping HTTPEndpointHandler.Route
    ) async throws -> Endpoint {
        let channel = try await bindOne(
            host: host, port: port, passed: nil, name: name, threads: threads, serving: serving, route: route)
        return Endpoint(name: name, target: target, channel: channel, port: channel.localAddress?.port ?? port)
    }

    private static func bindOne(
        host: String, port: Int, passed: SocketActivation.InetSocket?, name: String, threads: Threads,
        serving: HTTPServing, route: @escaping HTTPEndpointHandler.Route
    ) async throws -> any Channel {
        let endpoint = name == "the admin endpoint" ? "admin" : name
        let open = ConnectionTable()
        let bootstrap = ServerBootstrap(group: threads.http)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                // Past the limit: room is made by closing the longest-idle connection, or this one
                // is closed before a byte is read (a flood costs an accept and a close).
                let from = channel.remoteAddress?.ipAddress ?? "?"
                let slot: ConnectionTable.Slot
                switch open.admit(channel, limit: serving.maxConnections) {
                case .admitted(let s):
                    slot = s
                case .admittedClosingIdle(let s):
                    serving.refusals.count(
                        .idleClosedForNew, endpoint: endpoint, detail: "for a connection from \(from)")
                    slot = s
                case .refused:
                    serving.refusals.count(
                        .tooManyConnections, endpoint: endpoint, detail: "\(serving.maxConnections) open, from \(from)")
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in open.remove(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    // The context of the moment: a reload's renewed certificate serves new connections.
                    if let ssl = serving.security.sslContext {
                        try sync.addHandler(NIOSSLServerHandler(context: ssl))
                        try sync.addHandler(TLSFailureCounter(endpoint: endpoint, refusals: serving.refusals))
                    }
                    try sync.addHandler(HTTPRequestGuard(endpoint: endpoint, refusals: serving.refusals, slot: slot))
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(
                        HTTPEndpointHandler(name: name, endpoint: endpoint, serving: serving, route: route))
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

/// Counts a failed TLS handshake (no client certificate, an untrusted one, plain HTTP on a TLS
/// port) and closes the connection, which is all NIOSSL would do anyway.
final class TLSFailureCounter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let endpoint: String
    private let refusals: HTTPRefusals
    private var handshaken = false

    init(endpoint: String, refusals: HTTPRefusals) {
        self.endpoint = endpoint
        self.refusals = refusals
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event as? TLSUserEvent ?? .shutdownCompleted { handshaken = true }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !handshaken {
            refusals.count(
                .tlsHandshake, endpoint: endpoint, detail: "from \(context.remoteAddress?.ipAddress ?? "?"): \(error)")
        }
        context.close(promise: nil)
    }
}
