import Logging
import NIOCore
import NIOPosix
import Synchronization
import TallyCore
import TallySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Every ingest socket, bound (or adopted from systemd) before any service runs, and the
/// functions that bind one listener each, which a reload uses too.
struct IngestListeners: Sendable {
    /// One UDP address: several SO_REUSEPORT sockets (one per receive loop), or one adopted.
    struct UDPGroup: Sendable {
        /// As the config says it (port 0 stays 0); nil for a socket systemd passed.
        let configured: HostPort?
        /// As bound.
        let port: Int
        let receivers: [UDPReceiver]
        /// Passed by systemd: a reload never closes it.
        var adopted: Bool { configured == nil }
    }

    struct TCPServer: Sendable {
        let configured: HostPort?
        let port: Int
        let channel: any Channel
        var adopted: Bool { configured == nil }
    }

    struct UnixListener: Sendable {
        let receiver: UnixDatagramReceiver
        /// The config entry (nil for a socket systemd passed that the config does not name);
        /// its `service` is resolved when the loop starts (a reload may add that service).
        let socket: TallyConfig.UnixSocket?
        var adopted: Bool { !receiver.ownsPath }
    }

    var udp: [UDPGroup] = []
    var tcp: [TCPServer] = []
    var unix: [UnixListener] = []

    var udpPorts: [Int] { udp.map(\.port) }
    var tcpPorts: [Int] { tcp.map(\.port) }

    /// Closes every socket (a later step of the start failed): nothing has read from them yet.
    func close() async {
        await Binding.closeAll(tcp.map(\.channel))
        for group in udp { for receiver in group.receivers { receiver.close() } }
        for listener in unix { listener.receiver.close() }
    }

    /// Binds UDP, then Unix, then TCP; on the first failure closes what was bound and throws a
    /// `StartupError` naming the listener.
    static func bind(
        config: TallyConfig, activation: SocketActivation, threads: Threads, tcp tcpBootstrap: ServerBootstrap,
        logger: Logger
    ) async throws -> IngestListeners {
        var bound = IngestListeners()
        do {
            for passed in activation.udp {
                let receiver = UDPReceiver(adopting: passed.fd, port: passed.port)
                bound.udp.append(UDPGroup(configured: nil, port: receiver.port, receivers: [receiver]))
            }
            for address in config.udp where !activation.udp.contains(where: { $0.port == address.port }) {
                bound.udp.append(try bindUDP(address, config: config, threads: threads, logger: logger))
            }
            for passed in activation.unix {
                let entry = config.unix.first { $0.path == passed.path }
                bound.unix.append(
                    UnixListener(receiver: UnixDatagramReceiver(adopting: passed.fd, path: passed.path), socket: entry))
            }
            for socket in config.unix where !activation.unix.contains(where: { $0.path == socket.path }) {
                bound.unix.append(try makeUnix(socket, config: config))
            }
            if !bound.unix.isEmpty { warnIfUnixQueueIsSmall(logger) }
            for passed in activation.tcp {
                let channel = try await Binding.bind("TCP ingest (socket activation, fd \(passed.fd))") {
                    try await tcpBootstrap.withBoundSocket(passed.fd).get()
                }
                let port = channel.localAddress?.port ?? passed.port
                bound.tcp.append(TCPServer(configured: nil, port: port, channel: channel))
            }
            for address in config.tcp where !activation.tcp.contains(where: { $0.port == address.port }) {
                bound.tcp.append(try await bindTCP(address, bootstrap: tcpBootstrap))
            }
        } catch {
            await bound.close()
            throw error
        }
        return bound
    }

    /// One UDP address: claimed first with a plain socket (SO_REUSEPORT would let a second
    /// tallyd share the port silently and take half the datagrams), then one SO_REUSEPORT
    /// socket per receive loop (`ingest.udp_loops`, or one per core) so the kernel spreads
    /// senders over every core. Their threads start with `UDPLoop`.
    static func bindUDP(_ address: HostPort, config: TallyConfig, threads: Threads, logger: Logger) throws -> UDPGroup {
        let probe = try UDPReceiver(
            binding: address, what: "UDP ingest on \(address)", reusePort: false, receiveBuffer: nil)
        let port = probe.port
        probe.close()
        let resolved = HostPort(host: address.host, port: port)
        let perAddress = config.udpLoops == 0 ? threads.ingestLoops.count : config.udpLoops
        var receivers: [UDPReceiver] = []
        do {
            for i in 0..<perAddress {
                receivers.append(
                    try UDPReceiver(
                        binding: resolved, what: "UDP ingest on \(resolved)", reusePort: true,
                        receiveBuffer: config.udpReceiveBuffer))
                if i == 0 {
                    checkReceiveBuffer(
                        granted: receivers[0].receiveBuffer, asked: config.udpReceiveBuffer, what: "UDP \(resolved)",
                        logger)
                }
            }
        } catch {
            for receiver in receivers { receiver.close() }
            throw error
        }
        return UDPGroup(configured: address, port: port, receivers: receivers)
    }

    static func bindTCP(_ address: HostPort, bootstrap: ServerBootstrap) async throws -> TCPServer {
        let channel = try await Binding.bind("TCP ingest on \(address)") {
            try await bootstrap.bind(host: address.host, port: address.port).get()
        }
        return TCPServer(configured: address, port: channel.localAddress?.port ?? address.port, channel: channel)
    }

    /// A Unix socket of the config (created, permissions set); its loop starts separately.
    static func makeUnix(_ socket: TallyConfig.UnixSocket, config: TallyConfig) throws -> UnixListener {
        let receiver = try UnixDatagramReceiver(
            path: socket.path, mode: socket.mode, group: socket.group, receiveBuffer: config.udpReceiveBuffer,
            passCredentials: socket.peerIdentity != nil)
        return UnixListener(receiver: receiver, socket: socket)
    }

    /// The TCP server bootstrap: one ingestor per event loop (connections come and go, their
    /// loop's ingestor stays); the idle timeout and line limit are read per connection, so a
    /// reload's values apply to the next connection.
    static func tcpBootstrap(threads: Threads, pool: TCPIngestors, settings: TCPSettings) -> ServerBootstrap {
        let ingestorOfLoop = pool.byLoop
        return ServerBootstrap(group: threads.ingest)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelInitializer { channel in
                guard settings.open.enter(limit: settings.maxConnections) else {
                    settings.refuse(from: channel.remoteAddress?.ipAddress ?? "?")
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in settings.open.leave() }
                return channel.eventLoop.makeCompletedFuture {
                    let (idle, maxLine) = settings.current
                    let ingestor = ingestorOfLoop[ObjectIdentifier(channel.eventLoop)]!.value
                    try channel.pipeline.syncOperations.addHandler(
                        IdleStateHandler(readTimeout: .nanoseconds(Int64(idle * 1e9))))
                    try channel.pipeline.syncOperations.addHandler(
                        TCPLineHandler(ingestor: ingestor, maxLineLength: maxLine))
                }
            }
    }

    /// The smallest `net.unix.max_dgram_qlen` a Unix datagram socket runs well with.
    ///
    /// The kernel queues at most this many datagrams on a Unix socket, whatever its buffer;
    /// then a sender blocks and is woken one datagram at a time. systemd raises the kernel's
    /// default of 10 to 512 at boot, so this matters only where systemd is not PID 1
    /// (containers). Measured there, a sender at full speed got 0.24–2M tagged lines/s through
    /// at 10, with tallyd spending about twice the CPU per line waking it; at 512, 5.2M in two
    /// runs of three (the third 0.75M), with UDP at 4.7–5.4M.
    static let unixQueueWanted = 512

    /// The kernel's queue limit for Unix datagram sockets in this network namespace, if readable.
    static func unixQueueLength(_ path: String = "/proc/sys/net/unix/max_dgram_qlen") -> Int? {
        guard let text = try? FileText.read(path) else { return nil }
        return Int(text.split(whereSeparator: { $0 == "\n" || $0 == " " }).first ?? "")
    }

    /// What to tell the operator when the queue limit is below `unixQueueWanted`; nil when fine
    /// or unknown.
    static func unixQueueAdvice(queueLength: Int?) -> String? {
        guard let queueLength, queueLength < unixQueueWanted else { return nil }
        return "net.unix.max_dgram_qlen is \(queueLength): a sender on a Unix ingest socket blocks once "
            + "\(queueLength) datagrams are queued and then gets through one datagram per wakeup "
            + "(systemd sets \(unixQueueWanted) at boot; here it did not): "
            + "sysctl -w net.unix.max_dgram_qlen=\(unixQueueWanted), then restart tallyd "
            + "(a socket keeps the limit it was made with)"
    }

    /// Logs `unixQueueAdvice` for this host's limit, if it has any: when the first Unix socket
    /// is made (at startup, or by the reload that adds it).
    static func warnIfUnixQueueIsSmall(_ logger: Logger) {
        if let advice = unixQueueAdvice(queueLength: unixQueueLength()) { logger.warning("\(advice)") }
    }

    /// Warns if the kernel gave less receive buffer than `ingest.udp_receive_buffer`: once per
    /// boot (a note at info level on later starts), as the fix is the host's, not the config's.
    static func checkReceiveBuffer(granted: Int, asked: Int, what: String, _ logger: Logger) {
        guard granted < asked else { return }
        let message =
            "receive buffer of \(what) is \(granted) bytes, not the \(asked) asked for "
            + "(ingest.udp_receive_buffer): the kernel caps it at net.core.rmem_max; raise it "
            + "(sysctl -w net.core.rmem_max=\(asked)) so bursts are not dropped"
        if OncePerBoot.first("rmem-max-\(granted)-\(asked)") {
            logger.warning("\(message)")
        } else {
            logger.info("\(message) (warned at an earlier start since boot)")
        }
    }
}

/// The TCP ingestors, one per event loop, made once (a reload's new TCP listeners share them).
struct TCPIngestors: Sendable {
    let byLoop: [ObjectIdentifier: NIOLoopBound<Ingestor>]

    static func make(threads: Threads, ingestors: IngestorFactory) async throws -> TCPIngestors {
        var pool: [ObjectIdentifier: NIOLoopBound<Ingestor>] = [:]
        for loop in threads.ingestLoops {
            pool[ObjectIdentifier(loop)] = try await loop.submit {
                NIOLoopBound(ingestors.make(transport: "tcp"), eventLoop: loop)
            }.get()
        }
        return TCPIngestors(byLoop: pool)
    }
}

/// What a TCP connection reads when it is accepted: `ingest.tcp_idle_timeout` and
/// `ingest.max_line_length`, changed by a reload for the connections after it; and how many
/// may be open at once (`ingest.tcp_max_connections`), over every TCP listener.
final class TCPSettings: Sendable {
    private let value: Mutex<(idle: Double, maxLine: Int)>
    private let maxConnectionsValue: Atomic<Int>
    let open = ConnectionCount()
    private let refusedCount = Atomic<Int>(0)
    private let lastLog = Mutex<(at: Double, held: Int)>((-Double.infinity, 0))
    private let logger: Logger

    init(idle: Double, maxLine: Int, maxConnections: Int = 1024, logger: Logger = Logger(label: "tallyd")) {
        value = Mutex((idle, maxLine))
        maxConnectionsValue = Atomic(maxConnections)
        self.logger = logger
    }

    var current: (idle: Double, maxLine: Int) { value.withLock { $0 } }
    var maxConnections: Int { maxConnectionsValue.load(ordering: .relaxed) }
    var refused: Int { refusedCount.load(ordering: .relaxed) }

    func set(idle: Double, maxLine: Int) { value.withLock { $0 = (idle, maxLine) } }

    func set(maxConnections: Int) { maxConnectionsValue.store(maxConnections, ordering: .relaxed) }

    /// Counts a refused connection; logs at most once per 10 s with the number held back.
    func refuse(from address: String) {
        refusedCount.add(1, ordering: .relaxed)
        let now = MonotonicClock.now()
        let held: Int? = lastLog.withLock { s in
            guard now - s.at >= 10 else {
                s.held += 1
                return nil
            }
            defer { s = (now, 0) }
            return s.held
        }
        guard let held else { return }
        let more = held > 0 ? "; \(held) more refused in the last 10s" : ""
        logger.warning(
            "TCP ingest: refused a connection from \(address): ingest.tcp_max_connections (\(maxConnections)) are open\(more)"
        )
    }
}
