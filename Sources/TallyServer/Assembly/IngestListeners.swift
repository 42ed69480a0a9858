import Logging
import NIOCore
import NIOPosix
import TallyCore

#if canImport(Glibc)
    import Glibc
#endif

/// Every ingest socket, bound (or adopted from systemd) before any service runs; the ingest
/// services only read from and close what is here.
struct IngestListeners: Sendable {
    /// UDP channels: several per configured address (SO_REUSEPORT, one per receive loop).
    var udp: [any Channel] = []
    /// The UDP ports as bound (port 0 in the config resolved), one per address.
    var udpPorts: [Int] = []
    /// TCP server channels; each connection gets its event loop's ingestor.
    var tcp: [any Channel] = []
    var tcpPorts: [Int] = []
    /// Unix datagram sockets, each with the service it binds its lines to (if any).
    var unix: [UnixListener] = []

    struct UnixListener: Sendable {
        let receiver: UnixDatagramReceiver
        let service: Int?
    }

    /// Binds UDP, then Unix, then TCP; on the first failure closes what was bound and throws a
    /// `StartupError` naming the listener.
    static func bind(
        config: TallyConfig, activation: SocketActivation, threads: Threads, ingestors: IngestorFactory,
        logger: Logger
    ) async throws -> IngestListeners {
        var bound = IngestListeners()
        do {
            try await bound.bindUDP(
                config: config, activation: activation, threads: threads, ingestors: ingestors, logger: logger)
            try bound.bindUnix(config: config, activation: activation, services: ingestors.registry.services)
            try await bound.bindTCP(config: config, activation: activation, threads: threads, ingestors: ingestors)
        } catch {
            await Binding.closeAll(bound.udp + bound.tcp)
            for listener in bound.unix { listener.receiver.close() }
            throw error
        }
        return bound
    }

    /// Adopted sockets first; config entries on another port are bound, one SO_REUSEPORT socket
    /// per receive loop so the kernel spreads datagrams over every core.
    private mutating func bindUDP(
        config: TallyConfig, activation: SocketActivation, threads: Threads, ingestors: IngestorFactory,
        logger: Logger
    ) async throws {
        for passed in activation.udp {
            let channel = try await Binding.bind("UDP ingest (socket activation, fd \(passed.fd))") {
                try await Self.datagramBootstrap(config, threads.ingest.next(), ingestors).withBoundSocket(passed.fd)
                    .get()
            }
            udp.append(channel)
            udpPorts.append(channel.localAddress?.port ?? passed.port)
        }
        let perAddress = config.udpLoops == 0 ? threads.ingestLoops.count : config.udpLoops
        for address in config.udp where !activation.udp.contains(where: { $0.port == address.port }) {
            // SO_REUSEPORT would let a second tallyd share the port silently (and take half the
            // datagrams): claim it first with a plain socket, which fails if anyone holds it.
            let probe = try await Binding.bind("UDP ingest on \(address)") {
                try await DatagramBootstrap(group: threads.ingest).bind(host: address.host, port: address.port).get()
            }
            let port = probe.localAddress?.port ?? address.port
            try? await probe.close()
            let resolved = HostPort(host: address.host, port: port)
            for i in 0..<perAddress {
                let loop = threads.ingestLoops[i % threads.ingestLoops.count]
                let channel = try await Binding.bind("UDP ingest on \(resolved)") {
                    try await Self.datagramBootstrap(config, loop, ingestors).bind(host: address.host, port: port).get()
                }
                udp.append(channel)
                if i == 0 {
                    udpPorts.append(port)
                    await Self.checkReceiveBuffer(
                        channel, asked: config.udpReceiveBuffer, what: "UDP \(resolved)", logger)
                }
            }
        }
    }

    /// Our own receive threads (see `UnixDatagramReceiver`): adopted sockets first.
    private mutating func bindUnix(config: TallyConfig, activation: SocketActivation, services: ServiceTable) throws {
        for passed in activation.unix {
            let entry = config.unix.first { $0.path == passed.path }
            unix.append(
                UnixListener(
                    receiver: UnixDatagramReceiver(adopting: passed.fd, path: passed.path),
                    service: entry?.service.flatMap { services.index(of: $0) }))
        }
        for socket in config.unix where !activation.unix.contains(where: { $0.path == socket.path }) {
            let receiver = try UnixDatagramReceiver(
                path: socket.path, mode: socket.mode, group: socket.group, receiveBuffer: config.udpReceiveBuffer)
            unix.append(UnixListener(receiver: receiver, service: socket.service.flatMap { services.index(of: $0) }))
        }
    }

    /// One ingestor per event loop; connections come and go, their loop's ingestor stays.
    private mutating func bindTCP(
        config: TallyConfig, activation: SocketActivation, threads: Threads, ingestors: IngestorFactory
    ) async throws {
        guard !config.tcp.isEmpty || !activation.tcp.isEmpty else { return }
        var pool: [ObjectIdentifier: NIOLoopBound<Ingestor>] = [:]
        for loop in threads.ingestLoops {
            pool[ObjectIdentifier(loop)] = try await loop.submit {
                NIOLoopBound(ingestors.make(transport: "tcp"), eventLoop: loop)
            }.get()
        }
        let ingestorOfLoop = pool
        let maxLine = config.maxLineLength
        let idle = TimeAmount.nanoseconds(Int64(config.tcpIdleTimeout * 1e9))
        let bootstrap = ServerBootstrap(group: threads.ingest)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ingestor = ingestorOfLoop[ObjectIdentifier(channel.eventLoop)]!.value
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
                    try channel.pipeline.syncOperations.addHandler(
                        TCPLineHandler(ingestor: ingestor, maxLineLength: maxLine))
                }
            }
        for passed in activation.tcp {
            let channel = try await Binding.bind("TCP ingest (socket activation, fd \(passed.fd))") {
                try await bootstrap.withBoundSocket(passed.fd).get()
            }
            tcp.append(channel)
            tcpPorts.append(channel.localAddress?.port ?? passed.port)
        }
        for address in config.tcp where !activation.tcp.contains(where: { $0.port == address.port }) {
            let channel = try await Binding.bind("TCP ingest on \(address)") {
                try await bootstrap.bind(host: address.host, port: address.port).get()
            }
            tcp.append(channel)
            tcpPorts.append(channel.localAddress?.port ?? address.port)
        }
    }

    /// 32 datagrams per read, each into its own 64 KiB slot, and a channel-own ingestor.
    private static func datagramBootstrap(
        _ config: TallyConfig, _ loop: any EventLoop, _ ingestors: IngestorFactory
    ) -> DatagramBootstrap {
        let messages = 32
        let reusePort = ChannelOptions.Types.SocketOption(
            level: .socket, name: NIOBSDSocket.Option(rawValue: SO_REUSEPORT))
        return DatagramBootstrap(group: loop)
            .channelOption(reusePort, value: 1)
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(config.udpReceiveBuffer))
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: messages * 65_536))
            .channelOption(.datagramVectorReadMessageCount, value: messages)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        UDPIngestHandler(ingestor: ingestors.make(transport: "udp")))
                }
            }
    }

    /// Logs once if the kernel gave less receive buffer than `ingest.udp_receive_buffer`.
    private static func checkReceiveBuffer(_ channel: any Channel, asked: Int, what: String, _ logger: Logger) async {
        guard let granted = try? await channel.getOption(.socketOption(.so_rcvbuf)).get() else { return }
        // Linux reports twice what it grants (bookkeeping overhead included).
        if Int(granted) / 2 < asked {
            let message =
                "receive buffer of \(what) is \(Int(granted) / 2) bytes, not the \(asked) asked for "
                + "(ingest.udp_receive_buffer): the kernel caps it at net.core.rmem_max; raise it "
                + "(sysctl -w net.core.rmem_max=\(asked)) so bursts are not dropped"
            logger.warning("\(message)")
        }
    }
}
