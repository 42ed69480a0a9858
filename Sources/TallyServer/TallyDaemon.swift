#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import TallyCore
import UnixSignals

/// A startup failure an operator can act on; `description` is the whole message.
public struct StartupError: Error, CustomStringConvertible {
    public var description: String
}

/// The whole daemon: ingest (UDP, TCP, Unix datagram) into the registry, one /metrics
/// endpoint per service, the admin endpoint, and its life under systemd. `run()` binds (or
/// adopts) everything, tells systemd it is ready, serves until graceful shutdown, then drains
/// and closes.
public final class TallyDaemon: Service, Sendable {
    /// Where everything ended up listening (ports resolved when the config said 0).
    public struct Bound: Sendable {
        public var udp: [Int] = []
        public var tcp: [Int] = []
        public var services: [String: Int] = [:]
        public var admin: Int?
    }

    /// What the executable hands over besides the config.
    public struct Options: Sendable {
        /// Re-reads the config for SIGHUP; nil when running the embedded default.
        public var reloadConfig: (@Sendable () throws -> TallyConfig)?
        /// Sockets passed by systemd (`Systemd.takeListenedSockets()`).
        public var passedSockets: [Systemd.PassedSocket] = []
        /// `TALLYD_DEBUG_HOOKS=1`: test-only admin paths such as `/debug/wedge-ingest-loop`.
        public var debugHooks = false
        /// How often `STATUS=` is refreshed.
        public var statusInterval: Double = 5

        public init(reloadConfig: (@Sendable () throws -> TallyConfig)? = nil, passedSockets: [Systemd.PassedSocket] = [], debugHooks: Bool = false) {
            self.reloadConfig = reloadConfig
            self.passedSockets = passedSockets
            self.debugHooks = debugHooks
        }
    }

    public let config: TallyConfig
    public let registry: Registry
    public let liveness = Liveness()
    private let options: Options
    private let logger: Logger
    private let ingestGroup: MultiThreadedEventLoopGroup
    /// The ingest group's loops, in order: UDP sockets, TCP ingestors and heartbeats use them.
    private let ingestLoops: [EventLoop]
    private let httpGroup: MultiThreadedEventLoopGroup
    private let limiter = RejectLogLimiter(interval: 1)
    private let startTime = WallClock.now()
    private let datagramChannels = Mutex<[Channel]>([])
    private let channels = Mutex<[Channel]>([])
    private let bound = Mutex(Bound())
    private let receivers = Mutex<[UnixDatagramReceiver]>([])
    private let unixPool = Mutex<NIOThreadPool?>(nil)
    private let inFlight = InFlightRequests()
    private let running = Mutex(TallyConfig?.none)
    private let stateStats = Mutex(StateFileStats())

    public init(config: TallyConfig, catalogue: Catalogue, logger: Logger, options: Options = Options()) {
        self.config = config
        self.logger = logger
        self.options = options
        let families = FamilyTable(catalogue: catalogue, policy: config.unknownFamilies, defaultBuckets: config.defaultBuckets,
                                   dropLabels: config.limits.dropLabels)
        let services = ServiceTable(names: config.services.map(\.name), heartbeatTimeout: config.heartbeatTimeout)
        registry = Registry(families: families, services: services, limits: config.limits, epoch: WallClock.now())
        ingestGroup = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount))
        ingestLoops = Array(ingestGroup.makeIterator())
        httpGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        running.withLock { $0 = config }
    }

    /// Loads the catalogue the config names (or the embedded one) and builds the daemon.
    public static func make(config: TallyConfig, logger: Logger, options: Options = Options()) throws -> TallyDaemon {
        TallyDaemon(config: config, catalogue: try loadCatalogue(config), logger: logger, options: options)
    }

    /// The catalogue the config names (or the embedded one), checked against the config's
    /// `drop_labels`.
    static func loadCatalogue(_ config: TallyConfig) throws -> Catalogue {
        let catalogue: Catalogue
        if let path = config.cataloguePath {
            catalogue = try CatalogueLoader.parse(yaml: try FileText.read(path), source: path)
        } else {
            catalogue = CatalogueLoader.embedded()
        }
        if let problem = FamilyTable.problem(dropLabels: config.limits.dropLabels, catalogue: catalogue) {
            throw ConfigError(source: config.cataloguePath ?? "<embedded families.yaml>", line: nil, key: "", problem: problem)
        }
        return catalogue
    }

    public var boundAddresses: Bound { bound.withLock { $0 } }

    public func run() async throws {
        // Trap SIGHUP before anything else: its default action would end the process.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        restoreState()
        do {
            try await start()
        } catch {
            Systemd.notify("STATUS=failed to start: \(error)")
            await stop()
            throw error
        }
        Systemd.notify("READY=1\nSTATUS=\(statusLine(previous: nil).line)")
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.supervise() }
            group.addTask { await self.maintain() }
            group.addTask {
                for await _ in hangups { self.reload() }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        logger.info("shutting down: draining receive queues")
        Systemd.notify("STOPPING=1\nSTATUS=stopping: draining receive queues and in-flight scrapes")
        await stop()
        var total = IngestStats()
        for (_, s) in registry.ingestStats() { total.merge(s) }
        logger.info("tallyd stopped", metadata: [
            "packets": "\(total.packets)", "lines": "\(total.lines)",
            "accepted": "\(total.accepted)", "rejected": "\(total.rejectedTotal)",
            "skipped": "\(total.skipped.reduce(0, +))",
        ])
    }

    /// Binds (or adopts from systemd) every listener; throws a `StartupError` naming the first
    /// one that fails.
    public func start() async throws {
        let activation = try SocketActivation(passed: options.passedSockets, config: config)
        let defaultService = config.defaultService.flatMap { registry.services.index(of: $0) }
        let now = WallClock.now()
        for i in ingestLoops.indices { liveness.register("ingest loop \(i)", now: now) }
        liveness.register("http loop", now: now)

        // UDP: adopted sockets first; config entries with another port are bound.
        for passed in activation.udp {
            let channel = try await bindDatagram("UDP ingest (socket activation, fd \(passed.fd))", defaultService: defaultService) {
                try await $0.withBoundSocket(passed.fd).get()
            }
            bound.withLock { $0.udp.append(channel.localAddress?.port ?? passed.port) }
        }
        // Config addresses: one SO_REUSEPORT socket per receive loop, so the kernel spreads
        // datagrams over every core.
        let perAddress = config.udpLoops == 0 ? ingestLoops.count : config.udpLoops
        for address in config.udp where !activation.udp.contains(where: { $0.port == address.port }) {
            // SO_REUSEPORT would let a second tallyd share the port silently (and take half the
            // datagrams): claim it first with a plain socket, which fails if anyone holds it.
            let probe = try await bind("UDP ingest on \(address)", register: false) {
                try await DatagramBootstrap(group: ingestGroup).bind(host: address.host, port: address.port).get()
            }
            let port = probe.localAddress?.port ?? address.port
            try? await probe.close()
            for i in 0..<perAddress {
                let loop = ingestLoops[i % ingestLoops.count]
                let channel = try await bindDatagram("UDP ingest on \(TallyConfig.HostPort(host: address.host, port: port))",
                                                     defaultService: defaultService, on: loop) { [port] in
                    try await $0.bind(host: address.host, port: port).get()
                }
                if i == 0 {
                    bound.withLock { $0.udp.append(port) }
                    await checkReceiveBuffer(channel, what: "UDP \(address.host):\(port)")
                }
            }
        }

        // Unix datagram sockets: our own receive threads (see UnixDatagramReceiver).
        var unixSockets: [(UnixDatagramReceiver, TallyConfig.UnixSocket?)] = []
        for passed in activation.unix {
            let entry = config.unix.first { $0.path == passed.path }
            unixSockets.append((UnixDatagramReceiver(adopting: passed.fd, path: passed.path), entry))
        }
        for socket in config.unix where !activation.unix.contains(where: { $0.path == socket.path }) {
            unixSockets.append((try UnixDatagramReceiver(path: socket.path, mode: socket.mode, group: socket.group, receiveBuffer: config.udpReceiveBuffer), socket))
        }
        if !unixSockets.isEmpty {
            let pool = NIOThreadPool(numberOfThreads: unixSockets.count)
            pool.start()
            unixPool.withLock { $0 = pool }
            for (receiver, entry) in unixSockets {
                receivers.withLock { $0.append(receiver) }
                let service = entry?.service.flatMap { registry.services.index(of: $0) }
                let part = "unix \(receiver.path)"
                liveness.register(part, now: now)
                let liveness = self.liveness
                pool.submit { _ in
                    receiver.run(self.makeIngestor(transport: "unix", service: service, defaultService: defaultService)) {
                        liveness.beat(part, now: WallClock.now())
                    }
                }
            }
        }

        // TCP: one ingestor per event loop; connections come and go, their loop's ingestor stays.
        if !config.tcp.isEmpty || !activation.tcp.isEmpty {
            var ingestors: [ObjectIdentifier: NIOLoopBound<Ingestor>] = [:]
            for loop in ingestLoops {
                ingestors[ObjectIdentifier(loop)] = try await loop.submit {
                    NIOLoopBound(self.makeIngestor(transport: "tcp", service: nil, defaultService: defaultService), eventLoop: loop)
                }.get()
            }
            let pool = ingestors
            let maxLine = config.maxLineLength
            let idle = TimeAmount.nanoseconds(Int64(config.tcpIdleTimeout * 1e9))
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
            for passed in activation.tcp {
                let channel = try await bind("TCP ingest (socket activation, fd \(passed.fd))") {
                    try await bootstrap.withBoundSocket(passed.fd).get()
                }
                bound.withLock { $0.tcp.append(channel.localAddress?.port ?? passed.port) }
            }
            for address in config.tcp where !activation.tcp.contains(where: { $0.port == address.port }) {
                let channel = try await bind("TCP ingest on \(address)") {
                    try await bootstrap.bind(host: address.host, port: address.port).get()
                }
                bound.withLock { $0.tcp.append(channel.localAddress?.port ?? address.port) }
            }
        }

        for (index, service) in config.services.enumerated() {
            let registry = self.registry
            let channel = try await bindHTTP(host: config.metricsAddress, port: service.port, passed: activation.services[service.name],
                                             name: service.name) { path in
                guard path == "/metrics" else { return nil }
                return .init(status: .ok, contentType: ExpositionRenderer.contentType,
                             body: ExpositionRenderer.render(registry, service: index, now: WallClock.now()))
            }
            bound.withLock { $0.services[service.name] = channel.localAddress?.port ?? service.port }
        }
        if config.admin != nil || activation.admin != nil {
            let admin = config.admin ?? TallyConfig.HostPort(host: "127.0.0.1", port: 9102)
            let registry = self.registry
            let startTime = self.startTime
            let debugHooks = options.debugHooks
            let ingestLoops = self.ingestLoops
            let channel = try await bindHTTP(host: admin.host, port: admin.port, passed: activation.admin, name: "the admin endpoint") { path in
                switch path {
                case "/metrics":
                    return .init(status: .ok, contentType: ExpositionRenderer.contentType,
                                 body: AdminExposition.render(registry: registry, startTime: startTime, udpPorts: self.boundAddresses.udp,
                                                               state: self.config.stateFile == nil ? nil : self.stateStats.withLock { $0 }))
                case "/healthz":
                    return .init(status: .ok, contentType: "text/plain; charset=utf-8", body: Array("ok\n".utf8))
                case "/debug/wedge-ingest-loop" where debugHooks:
                    // Test hook for the watchdog: blocks one ingest event loop for good.
                    ingestLoops[0].execute { while true { sleep(1) } }
                    return .init(status: .ok, contentType: "text/plain; charset=utf-8", body: Array("wedged one ingest loop\n".utf8))
                case "/debug/wedge-ingest-loops" where debugHooks:
                    // Test hook for drop accounting: no loop reads, the kernel queues fill up.
                    for loop in ingestLoops { loop.execute { while true { sleep(1) } } }
                    return .init(status: .ok, contentType: "text/plain; charset=utf-8", body: Array("wedged every ingest loop\n".utf8))
                default:
                    return nil
                }
            }
            bound.withLock { $0.admin = channel.localAddress?.port ?? admin.port }
        }
        let b = boundAddresses
        let endpoints = config.services.map { "\($0.name)=http://\(config.metricsAddress):\(b.services[$0.name] ?? $0.port)/metrics" }
        logger.info("tallyd ready", metadata: [
            "udp": "\(b.udp)",
            "tcp": "\(b.tcp)",
            "unix": "\(unixSockets.map(\.0.path))",
            "endpoints": "\(endpoints.joined(separator: " "))",
            "admin": "\(b.admin.map { "http://\((config.admin ?? .init(host: "127.0.0.1", port: 0)).host):\($0)/metrics" } ?? "off")",
            "families": "\(registry.families.documentedCount) documented",
            "socket_activation": "\(options.passedSockets.map(\.name))",
        ])
    }

    /// Stops accepting, lets the receive loops empty what is already queued, waits for
    /// in-flight scrapes, then closes everything.
    public func stop() async {
        let servers = channels.withLock { c -> [Channel] in
            defer { c.removeAll() }
            return c
        }
        for channel in servers { try? await channel.close() }
        // Datagram sockets cannot refuse new datagrams without closing; keep reading until the
        // packet counters stop moving (the queue is empty), at most a second.
        let datagrams = datagramChannels.withLock { c -> [Channel] in
            defer { c.removeAll() }
            return c
        }
        if !datagrams.isEmpty {
            var last = totalPackets()
            let deadline = WallClock.now() + 1
            while WallClock.now() < deadline {
                try? await Task.sleep(for: .milliseconds(20))
                let current = totalPackets()
                if current == last { break }
                last = current
            }
        }
        for channel in datagrams { try? await channel.close() }
        let receivers = self.receivers.withLock { r -> [UnixDatagramReceiver] in
            defer { r.removeAll() }
            return r
        }
        for r in receivers { r.stop() }
        if let pool = unixPool.withLock({ p -> NIOThreadPool? in defer { p = nil }; return p }) {
            try? await pool.shutdownGracefully()
        }
        for r in receivers { r.close() }
        await inFlight.waitUntilIdle(timeout: 5)
        saveState(reason: "stop")
        try? await ingestGroup.shutdownGracefully()
        try? await httpGroup.shutdownGracefully()
    }

    private func totalPackets() -> Int {
        registry.ingestStats().reduce(0) { $0 + $1.stats.packets }
    }

    // MARK: systemd supervision

    /// Until cancelled: sends liveness probes through every loop, pings the watchdog while
    /// all of them answer, and refreshes `STATUS=`.
    private func supervise() async {
        guard Systemd.notifySocketPresent else { return }
        let watchdog = Systemd.watchdogInterval()
        let tick = min(watchdog.map { $0 / 2 } ?? options.statusInterval, options.statusInterval)
        var previous = statusLine(previous: nil).sample
        var lastStatus = WallClock.now()
        var wedgedReported = false
        if watchdog != nil { Systemd.notify("WATCHDOG=1") }
        while !Task.isCancelled {
            probe()
            do { try await Task.sleep(for: .milliseconds(Int(tick * 1000))) } catch { return }
            let now = WallClock.now()
            if let watchdog {
                let stale = liveness.stale(now: now, maxAge: watchdog)
                if stale.isEmpty {
                    Systemd.notify("WATCHDOG=1")
                    wedgedReported = false
                } else if !wedgedReported {
                    wedgedReported = true
                    let parts = stale.map { "\($0.part) silent for \(Int($0.age * 1000)) ms" }.joined(separator: ", ")
                    logger.critical("watchdog: not pinging systemd, \(parts); systemd will restart tallyd")
                    Systemd.notify("STATUS=wedged: \(parts)")
                }
            }
            if now - lastStatus >= options.statusInterval, !wedgedReported {
                let s = statusLine(previous: (previous, lastStatus))
                Systemd.notify("STATUS=\(s.line)")
                previous = s.sample
                lastStatus = now
            }
        }
    }

    /// Once a second: forgets set members past the set window, expires series past their
    /// ttl (each shard lock is taken in turn, briefly), and every `state_interval` saves the
    /// state, so a crash or a watchdog kill loses at most that much.
    private func maintain() async {
        var lastSave = WallClock.now()
        var lastExpiry = lastSave
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(1)) } catch { return }
            let now = WallClock.now()
            // Expiry scans every series: every tenth of the shortest ttl (1 s to 30 s), so a
            // series outlives its ttl by at most 10% and a million series are not scanned
            // every second.
            var expire = false
            if let shortest = registry.limits.shortestTTL {
                expire = now - lastExpiry >= min(max(shortest / 10, 1), 30) - 0.01
            }
            if expire { lastExpiry = now }
            let expired = registry.sweep(now: now, expire: expire)
            if expired > 0 { logger.debug("expired \(expired) series (ttl)") }
            if config.stateFile != nil, now - lastSave >= config.stateInterval {
                // Encoding a million series and fsync take a while: not on the cooperative pool,
                // where the watchdog's supervision runs.
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global(qos: .utility).async {
                        self.saveState(reason: "periodic")
                        done.resume()
                    }
                }
                lastSave = now
            }
        }
    }

    // MARK: saved state

    /// Before any listener starts: the series saved by the previous run. A file that cannot
    /// be read is moved aside (`.corrupt`) and tallyd starts empty: losing counters is better
    /// than not starting.
    private func restoreState() {
        guard let path = config.stateFile else { return }
        guard access(path, F_OK) == 0 else {
            logger.notice("no saved state at \(path) yet; starting empty")
            return
        }
        Systemd.notify("STATUS=restoring saved state from \(path)")
        do {
            let bytes = try FileText.readBytes(path)
            let summary = try StateSnapshot.restore(bytes, into: registry, now: WallClock.now())
            stateStats.withLock { $0.restored = summary.restored }
            var message = "restored \(summary.restored) series from \(path)"
            let skipped = summary.skippedFamily + summary.skippedService + summary.skippedOther
            if skipped > 0 {
                message += "; skipped \(summary.skippedFamily) of families whose type/labels/buckets changed, \(summary.skippedService) of services no longer configured, \(summary.skippedOther) refused by limits or damaged"
            }
            logger.notice("\(message)")
        } catch {
            let aside = path + ".corrupt"
            rename(path, aside)
            logger.error("cannot restore the saved state (\(error)); moved it to \(aside) and starting empty")
        }
    }

    /// Writes every series to `state_file` (atomically: a crash mid-write keeps the last one).
    private func saveState(reason: String) {
        guard let path = config.stateFile else { return }
        let started = WallClock.now()
        let bytes = StateSnapshot.encode(registry)
        do {
            try FileText.writeAtomically(bytes, to: path)
            let finished = WallClock.now()
            stateStats.withLock {
                $0.saves += 1
                $0.lastSaveTime = finished
                $0.lastSaveBytes = bytes.count
                $0.lastSaveSeconds = finished - started
            }
            logger.debug("saved state (\(reason)): \(bytes.count) bytes to \(path) in \(Int((finished - started) * 1000)) ms")
        } catch {
            stateStats.withLock { $0.failures += 1 }
            logger.error("cannot save the state (\(reason)): \(error)")
        }
    }

    /// Schedules one heartbeat on every event loop; the HTTP loop's also takes every shard lock.
    private func probe() {
        let liveness = self.liveness
        for (i, loop) in ingestLoops.enumerated() {
            loop.execute { liveness.beat("ingest loop \(i)", now: WallClock.now()) }
        }
        let registry = self.registry
        httpGroup.any().execute {
            _ = registry.seriesCounts()
            liveness.beat("http loop", now: WallClock.now())
        }
    }

    struct StatusSample { var lines = 0; var rejected = 0 }

    /// `"1234 lines/s, 5678 series, 2 rejects/s"` over the interval since `previous`.
    private func statusLine(previous: (StatusSample, Double)?) -> (line: String, sample: StatusSample) {
        var sample = StatusSample()
        for (_, s) in registry.ingestStats() {
            sample.lines += s.lines
            sample.rejected += s.rejectedTotal
        }
        let series = registry.seriesCounts().reduce(0, +)
        guard let (before, at) = previous else {
            return ("ready, \(series) series, \(sample.lines) lines so far", sample)
        }
        let dt = max(WallClock.now() - at, 0.001)
        let lps = Int((Double(sample.lines - before.lines) / dt).rounded())
        let rps = Int((Double(sample.rejected - before.rejected) / dt).rounded())
        return ("\(lps) lines/s, \(series) series, \(rps) rejects/s", sample)
    }

    // MARK: reload

    /// SIGHUP: re-reads the config (and its catalogue) and applies what can change while
    /// running; an invalid file keeps the running config and says why.
    func reload() {
        Systemd.notify("RELOADING=1\nMONOTONIC_USEC=\(Systemd.monotonicMicroseconds())")
        let status: String
        if let load = options.reloadConfig {
            do {
                let new = try load()
                let catalogue = try Self.loadCatalogue(new)
                status = apply(new, catalogue: catalogue)
                logger.notice("reload: \(status)")
            } catch {
                status = "reload failed, keeping the running config: \(error)"
                logger.error("\(status)")
            }
        } else {
            status = "reload: running the embedded default config, nothing to re-read"
            logger.notice("\(status)")
        }
        Systemd.notify("READY=1\nSTATUS=\(status)")
    }

    /// Applies log level, heartbeat timeout and the unknown-families policy; names every other
    /// change as needing a restart.
    private func apply(_ new: TallyConfig, catalogue: Catalogue) -> String {
        let old = running.withLock { $0! }
        var applied: [String] = []
        var restart: [String] = []
        if new.logLevel != old.logLevel {
            LogLevelControl.shared.level = new.logLevel
            applied.append("log_level=\(new.logLevel)")
        }
        if new.heartbeatTimeout != old.heartbeatTimeout {
            registry.services.heartbeatTimeout = new.heartbeatTimeout
            applied.append("heartbeat_timeout=\(new.heartbeatTimeout)s")
        }
        if new.unknownFamilies != old.unknownFamilies {
            registry.families.policy = new.unknownFamilies
            applied.append("unknown_families=\(new.unknownFamilies.rawValue)")
        }
        // The catalogue (with drop_labels and default_buckets): swapped atomically under every
        // shard lock; series of families whose layout changed are removed.
        let newDocumented = catalogue.families.map { $0.dropping(new.limits.dropLabels[$0.name] ?? []) }
        if newDocumented != registry.families.documented || new.defaultBuckets != old.defaultBuckets
            || new.limits.dropLabels != old.limits.dropLabels
        {
            let removed = registry.replaceCatalogue(catalogue, dropLabels: new.limits.dropLabels, defaultBuckets: new.defaultBuckets)
            applied.append("catalogue (\(catalogue.families.count) families, \(removed) series of changed families removed)")
        }
        if new.udp != old.udp || new.tcp != old.tcp || new.unix != old.unix { restart.append("ingest") }
        if new.services != old.services || new.metricsAddress != old.metricsAddress { restart.append("services") }
        if new.admin != old.admin { restart.append("admin") }
        if new.defaultService != old.defaultService { restart.append("default_service") }
        if new.maxLineLength != old.maxLineLength || new.tcpIdleTimeout != old.tcpIdleTimeout { restart.append("ingest limits") }
        if new.limits != old.limits {
            registry.limits = new.limits
            applied.append("limits")
        }
        if new.dropClientTelemetry != old.dropClientTelemetry { restart.append("drop_client_telemetry") }
        if new.stateFile != old.stateFile || new.stateInterval != old.stateInterval { restart.append("state_file") }
        var merged = new
        if !restart.isEmpty {
            // Keep describing what actually runs, so the next reload compares against it.
            merged = old
            merged.logLevel = new.logLevel
            merged.heartbeatTimeout = new.heartbeatTimeout
            merged.unknownFamilies = new.unknownFamilies
            merged.limits = new.limits
            merged.cataloguePath = new.cataloguePath
            merged.defaultBuckets = new.defaultBuckets
        }
        running.withLock { $0 = merged }
        var parts = ["reloaded"]
        parts.append(applied.isEmpty ? "nothing changed that applies live" : "applied " + applied.joined(separator: ", "))
        if !restart.isEmpty { parts.append("restart tallyd to apply: " + restart.joined(separator: ", ")) }
        return parts.joined(separator: "; ")
    }

    // MARK: binding

    private func makeIngestor(transport: String, service: Int?, defaultService: Int?) -> Ingestor {
        let logger = self.logger
        return Ingestor(
            registry: registry, transport: transport, boundService: service, defaultService: defaultService,
            maxLineLength: config.maxLineLength, dropClientTelemetry: config.dropClientTelemetry, limiter: limiter
        ) { rejection in logger.warning("\(rejection.message)") }
    }

    /// Logs once if the kernel gave less receive buffer than `ingest.udp_receive_buffer`.
    private func checkReceiveBuffer(_ channel: Channel, what: String) async {
        guard let granted = try? await channel.getOption(.socketOption(.so_rcvbuf)).get() else { return }
        // Linux reports twice what it grants (bookkeeping overhead included).
        if Int(granted) / 2 < config.udpReceiveBuffer {
            logger.warning("receive buffer of \(what) is \(Int(granted) / 2) bytes, not the \(config.udpReceiveBuffer) asked for (ingest.udp_receive_buffer): the kernel caps it at net.core.rmem_max; raise it (sysctl -w net.core.rmem_max=\(config.udpReceiveBuffer)) so bursts are not dropped")
        }
    }

    private func bindDatagram(_ what: String, defaultService: Int?, on loop: EventLoop? = nil,
                              _ body: (DatagramBootstrap) async throws -> Channel) async throws -> Channel {
        let messages = 32
        let bootstrap = DatagramBootstrap(group: loop ?? ingestGroup.next())
            .channelOption(ChannelOptions.Types.SocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(config.udpReceiveBuffer))
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: messages * 65_536))
            .channelOption(.datagramVectorReadMessageCount, value: messages)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ingestor = self.makeIngestor(transport: "udp", service: nil, defaultService: defaultService)
                    try channel.pipeline.syncOperations.addHandler(UDPIngestHandler(ingestor: ingestor))
                }
            }
        let channel = try await bind(what, register: false) { try await body(bootstrap) }
        datagramChannels.withLock { $0.append(channel) }
        return channel
    }

    private func bindHTTP(host: String, port: Int, passed: SocketActivation.InetSocket?, name: String,
                          route: @escaping HTTPEndpointHandler.Route) async throws -> Channel {
        let inFlight = self.inFlight
        let bootstrap = ServerBootstrap(group: httpGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(HTTPEndpointHandler(name: name, inFlight: inFlight, route: route))
                }
            }
        if let passed {
            return try await bind("/metrics for \(name) (socket activation, fd \(passed.fd))") {
                try await bootstrap.withBoundSocket(passed.fd).get()
            }
        }
        return try await bind("/metrics for \(name) on \(TallyConfig.HostPort(host: host, port: port))") {
            try await bootstrap.bind(host: host, port: port).get()
        }
    }

    private func bind(_ what: String, register: Bool = true, _ body: () async throws -> Channel) async throws -> Channel {
        do {
            let channel = try await body()
            if register { channels.withLock { $0.append(channel) } }
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

/// Responses being written; shutdown waits for them so no scrape is cut off.
final class InFlightRequests: Sendable {
    private let count = Atomic<Int>(0)

    func begin() { count.add(1, ordering: .relaxed) }
    func end() { count.subtract(1, ordering: .relaxed) }

    func waitUntilIdle(timeout: Double) async {
        let deadline = WallClock.now() + timeout
        while count.load(ordering: .relaxed) > 0 && WallClock.now() < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// Reading a whole text file without Foundation.
