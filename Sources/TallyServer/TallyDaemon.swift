#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import TallyCore

/// A startup failure an operator can act on; `description` is the whole message.
public struct StartupError: Error, CustomStringConvertible {
    public var description: String
}

/// The whole daemon: UDP ingest into the registry, one /metrics endpoint per service, the
/// admin endpoint. `run()` binds everything, serves until graceful shutdown, then closes.
public final class TallyDaemon: Service, Sendable {
    /// Where everything ended up listening (ports resolved when the config said 0).
    public struct Bound: Sendable {
        public var udp: [Int] = []
        public var tcp: [Int] = []
        public var services: [String: Int] = [:]
        public var admin: Int?
    }

    public let config: TallyConfig
    public let registry: Registry
    private let logger: Logger
    private let ingestGroup: MultiThreadedEventLoopGroup
    private let httpGroup: MultiThreadedEventLoopGroup
    private let limiter = RejectLogLimiter(interval: 1)
    private let startTime = WallClock.now()
    private let channels = Mutex<[Channel]>([])
    private let bound = Mutex(Bound())
    private let receivers = Mutex<[UnixDatagramReceiver]>([])
    private let unixPool = Mutex<NIOThreadPool?>(nil)

    public init(config: TallyConfig, catalogue: Catalogue, logger: Logger) {
        self.config = config
        self.logger = logger
        let families = FamilyTable(catalogue: catalogue, policy: config.unknownFamilies, defaultBuckets: config.defaultBuckets)
        let services = ServiceTable(names: config.services.map(\.name), heartbeatTimeout: config.heartbeatTimeout)
        registry = Registry(families: families, services: services)
        ingestGroup = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount))
        httpGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// Loads the catalogue the config names (or the embedded one) and builds the daemon.
    public static func make(config: TallyConfig, logger: Logger) throws -> TallyDaemon {
        let catalogue: Catalogue
        if let path = config.cataloguePath {
            catalogue = try CatalogueLoader.parse(yaml: try FileText.read(path), source: path)
        } else {
            catalogue = CatalogueLoader.embedded()
        }
        return TallyDaemon(config: config, catalogue: catalogue, logger: logger)
    }

    public var boundAddresses: Bound { bound.withLock { $0 } }

    public func run() async throws {
        do {
            try await start()
        } catch {
            await stop()
            throw error
        }
        try? await gracefulShutdown()
        logger.info("shutting down")
        await stop()
    }

    /// Binds every listener; throws a `StartupError` naming the first one that fails.
    public func start() async throws {
        let defaultService = config.defaultService.flatMap { registry.services.index(of: $0) }
        for address in config.udp {
            let channel = try await bindDatagram("UDP ingest on \(address)", transport: "udp", service: nil,
                                                 defaultService: defaultService, vectorReads: true) { bootstrap in
                try await bootstrap.bind(host: address.host, port: address.port).get()
            }
            bound.withLock { $0.udp.append(channel.localAddress?.port ?? address.port) }
        }
        if !config.unix.isEmpty {
            let pool = NIOThreadPool(numberOfThreads: config.unix.count)
            pool.start()
            unixPool.withLock { $0 = pool }
            for socket in config.unix {
                let receiver = try UnixDatagramReceiver(path: socket.path, mode: socket.mode, group: socket.group, receiveBuffer: 8 << 20)
                receivers.withLock { $0.append(receiver) }
                let service = socket.service.flatMap { registry.services.index(of: $0) }
                pool.submit { _ in
                    receiver.run(self.makeIngestor(transport: "unix", service: service, defaultService: defaultService))
                }
            }
        }
        if !config.tcp.isEmpty {
            // One ingestor per event loop: connections come and go, their loop's ingestor stays.
            var ingestors: [ObjectIdentifier: NIOLoopBound<Ingestor>] = [:]
            for loop in ingestGroup.makeIterator() {
                ingestors[ObjectIdentifier(loop)] = try await loop.submit {
                    NIOLoopBound(self.makeIngestor(transport: "tcp", service: nil, defaultService: defaultService), eventLoop: loop)
                }.get()
            }
            let pool = ingestors
            let maxLine = config.maxLineLength
            let idle = TimeAmount.nanoseconds(Int64(config.tcpIdleTimeout * 1e9))
            for address in config.tcp {
                let bootstrap = ServerBootstrap(group: ingestGroup)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .serverChannelOption(.backlog, value: 1024)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let ingestor = pool[ObjectIdentifier(channel.eventLoop)]!.value
                            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
                            try channel.pipeline.syncOperations.addHandler(TCPLineHandler(ingestor: ingestor, maxLineLength: maxLine))
                        }
                    }
                let channel = try await bind("TCP ingest on \(address)") {
                    try await bootstrap.bind(host: address.host, port: address.port).get()
                }
                bound.withLock { $0.tcp.append(channel.localAddress?.port ?? address.port) }
            }
        }
        for (index, service) in config.services.enumerated() {
            let registry = self.registry
            let channel = try await bindHTTP(host: config.metricsAddress, port: service.port, name: service.name) { path in
                guard path == "/metrics" else { return nil }
                return .init(status: .ok, contentType: ExpositionRenderer.contentType,
                             body: ExpositionRenderer.render(registry, service: index, now: WallClock.now()))
            }
            bound.withLock { $0.services[service.name] = channel.localAddress?.port ?? service.port }
        }
        if let admin = config.admin {
            let registry = self.registry
            let startTime = self.startTime
            let channel = try await bindHTTP(host: admin.host, port: admin.port, name: "the admin endpoint") { path in
                switch path {
                case "/metrics":
                    return .init(status: .ok, contentType: ExpositionRenderer.contentType,
                                 body: AdminExposition.render(registry: registry, startTime: startTime))
                case "/healthz":
                    return .init(status: .ok, contentType: "text/plain; charset=utf-8", body: Array("ok\n".utf8))
                default:
                    return nil
                }
            }
            bound.withLock { $0.admin = channel.localAddress?.port ?? admin.port }
        }
        let b = boundAddresses
        let endpoints = config.services.map { "\($0.name)=http://\(config.metricsAddress):\(b.services[$0.name] ?? $0.port)/metrics" }
        logger.info("tallyd ready", metadata: [
            "udp": "\(zip(config.udp, b.udp).map { "\($0.host):\($1)" })",
            "tcp": "\(zip(config.tcp, b.tcp).map { "\($0.host):\($1)" })",
            "unix": "\(config.unix.map(\.path))",
            "endpoints": "\(endpoints.joined(separator: " "))",
            "admin": "\(b.admin.map { "http://\(config.admin!.host):\($0)/metrics" } ?? "off")",
            "families": "\(registry.families.documentedCount) documented",
        ])
    }

    public func stop() async {
        let all = channels.withLock { c -> [Channel] in
            defer { c.removeAll() }
            return c
        }
        for channel in all { try? await channel.close() }
        let receivers = self.receivers.withLock { r -> [UnixDatagramReceiver] in
            defer { r.removeAll() }
            return r
        }
        for r in receivers { r.stop() }
        if let pool = unixPool.withLock({ p -> NIOThreadPool? in defer { p = nil }; return p }) {
            try? await pool.shutdownGracefully()
        }
        for r in receivers { r.close() }
        try? await ingestGroup.shutdownGracefully()
        try? await httpGroup.shutdownGracefully()
    }

    private func makeIngestor(transport: String, service: Int?, defaultService: Int?) -> Ingestor {
        let logger = self.logger
        return Ingestor(
            registry: registry, transport: transport, boundService: service, defaultService: defaultService,
            maxLineLength: config.maxLineLength, limiter: limiter
        ) { rejection in logger.warning("\(rejection.message)") }
    }

    private func bindDatagram(
        _ what: String, transport: String, service: Int?, defaultService: Int?, vectorReads: Bool,
        _ body: (DatagramBootstrap) async throws -> Channel
    ) async throws -> Channel {
        let messages = vectorReads ? 32 : 1
        var bootstrap = DatagramBootstrap(group: ingestGroup)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: messages * 65_536))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ingestor = self.makeIngestor(transport: transport, service: service, defaultService: defaultService)
                    try channel.pipeline.syncOperations.addHandler(UDPIngestHandler(ingestor: ingestor))
                }
            }
        if vectorReads { bootstrap = bootstrap.channelOption(.datagramVectorReadMessageCount, value: messages) }
        return try await bind(what) { try await body(bootstrap) }
    }

    private func bindHTTP(host: String, port: Int, name: String, route: @escaping HTTPEndpointHandler.Route) async throws -> Channel {
        let bootstrap = ServerBootstrap(group: httpGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(HTTPEndpointHandler(name: name, route: route))
                }
            }
        return try await bind("/metrics for \(name) on \(TallyConfig.HostPort(host: host, port: port))") {
            try await bootstrap.bind(host: host, port: port).get()
        }
    }

    private func bind(_ what: String, _ body: () async throws -> Channel) async throws -> Channel {
        do {
            let channel = try await body()
            channels.withLock { $0.append(channel) }
            return channel
        } catch is UnixDomainSocketPathWrongType {
            throw StartupError(description: "cannot listen: \(what): the path exists and is not a socket (not deleted)")
        } catch let error as IOError {
            let reason = error.errnoCode == 98 ? "address already in use (is another tallyd or the service itself running?)" : "\(error)"
            throw StartupError(description: "cannot listen: \(what): \(reason)")
        } catch {
            throw StartupError(description: "cannot listen: \(what): \(error)")
        }
    }
}

/// Reading a whole text file without Foundation.
public enum FileText {
    public static func read(_ path: String) throws -> String {
        guard let f = fopen(path, "r") else {
            throw StartupError(description: "\(path): cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n > 0 { out.append(contentsOf: buf[0..<n]) }
            if n < buf.count { break }
        }
        if ferror(f) != 0 { throw StartupError(description: "\(path): read error") }
        return String(decoding: out, as: UTF8.self)
    }
}
