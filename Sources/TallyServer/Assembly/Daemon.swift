import Logging
import NIOCore
import ServiceLifecycle
import TallyCore
import TallySystem
import UnixSignals

/// tallyd, assembled: bind, then run.
///
/// Everything that can fail at start fails before anything runs: the config and catalogue
/// are loaded (`LoadedConfig`, all `--check-config` needs: no threads), the saved state is
/// restored, the threads are made, and every listener is bound or adopted into immutable
/// values. Only then does a `ServiceGroup` run the long-lived parts. The list in `run` is
/// the daemon's whole shape: services start in that order and shut down in reverse.
public enum Daemon {
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

        public init(
            reloadConfig: (@Sendable () throws -> TallyConfig)? = nil, passedSockets: [Systemd.PassedSocket] = [],
            debugHooks: Bool = false
        ) {
            self.reloadConfig = reloadConfig
            self.passedSockets = passedSockets
            self.debugHooks = debugHooks
        }
    }

    /// Runs tallyd until SIGTERM/SIGINT (graceful: stop accepting, drain ingest, finish
    /// in-flight scrapes, final save) and returns; throws a `StartupError` or `ConfigError`
    /// when it cannot start.
    public static func run(_ loaded: LoadedConfig, options: Options, logger: Logger) async throws {
        let config = loaded.config
        for warning in loaded.warnings { logger.warning("\(warning)") }
        // Trap the signals before anything else. SIGHUP's default action would end the process
        // while a large state is still being restored; a SIGTERM that arrives before the group
        // runs (during the restore, or right after the endpoints first answer) is kept and
        // starts the graceful shutdown as soon as the group exists, so it still drains and saves.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let stops = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let activation = try SocketActivation(passed: options.passedSockets, config: config)
        let startTime = WallClock.now()
        // Series stamps, heartbeats and windows on the monotonic clock; shown times are wall.
        let registry = loaded.makeRegistry(now: MonotonicClock.now())
        registry.services.wallOffset.set(WallClock.offsetFromMonotonic())
        let state = config.stateFile.map {
            StateStore(path: $0, interval: config.stateInterval, registry: registry, logger: logger)
        }
        let readiness = Readiness()
        let reloads = ReloadRequests()
        let reloadStats = ReloadStats(startTime: startTime)

        // The blocking pool saves the state; each UDP and Unix socket's loop has a thread of its own.
        try await Threads.with(ingestThreads: System.coreCount, blockingThreads: 1) { threads in
            let recent = RecentRejections()
            let sampler = StatusSampler(registry: registry)
            let ingestors = IngestorFactory(registry: registry, config: config, logger: logger, recent: recent)
            let heartbeats = Heartbeats()
            let wedge = DebugWedge()
            let serving = HTTPServing(
                maxConnections: config.httpMaxConnections,
                security: try WebSecurity(loaded.web, pool: threads.security), logger: logger)
            let directory = ListenerDirectory()
            let scrapes = ScrapeStats()
            let tcpSettings = TCPSettings(
                idle: config.tcpIdleTimeout, maxLine: config.maxLineLength, maxConnections: config.tcpMaxConnections,
                logger: logger)
            let remoteWrite = RemoteWriteService(
                targets: loaded.remoteWrite, registry: registry, group: threads.remoteWrite, logger: logger)
            let admin = AdminRoutes(
                registry: registry, startTime: startTime, state: state, debugHooks: options.debugHooks,
                ingestLoops: threads.ingestLoops, wedge: wedge, listeners: directory, readiness: readiness,
                reloads: reloads,
                reloadStats: reloadStats, scrapes: scrapes, serving: serving, tcpSettings: tcpSettings,
                remoteWrite: remoteWrite,
                status: StatusSources(
                    registry: registry, startTime: startTime,
                    configPath: config.locations.origin.path,
                    sampler: sampler, recent: recent, listeners: directory, readiness: readiness, reloads: reloadStats,
                    state: state, remoteWrite: remoteWrite))
            // The admin endpoint first: /-/ready says 503 while the state is restored.
            let adminEndpoint = try await HTTPListeners.bindAdmin(
                config: config, activation: activation, threads: threads, serving: serving, route: admin.route)
            registry.setIngestSettings(
                .init(
                    defaultService: config.defaultService, maxLineLength: config.maxLineLength,
                    dropClientTelemetry: config.dropClientTelemetry))
            let ingest: IngestListeners
            let http: HTTPListeners
            let tcpIngestors: TCPIngestors
            do {
                state?.restore()
                tcpIngestors = try await TCPIngestors.make(threads: threads, ingestors: ingestors)
                ingest = try await IngestListeners.bind(
                    config: config, activation: activation, threads: threads,
                    tcp: IngestListeners.tcpBootstrap(threads: threads, pool: tcpIngestors, settings: tcpSettings),
                    logger: logger)
                do {
                    let endpoints = try await HTTPListeners.bindServices(
                        config: config, activation: activation, threads: threads, serving: serving,
                        serviceRoute: { MetricsRoute.make(registry: registry, service: $0, scrapes: scrapes) })
                    http = HTTPListeners(services: endpoints, admin: adminEndpoint)
                } catch {
                    await ingest.close()
                    throw error
                }
            } catch {
                if let adminEndpoint { await Binding.closeAll([adminEndpoint.channel]) }
                throw error
            }
            let live = LiveListeners(
                ingest: ingest, http: http, config: config, activation: activation, threads: threads,
                ingestors: ingestors, heartbeats: heartbeats, serving: serving, registry: registry, scrapes: scrapes,
                adminRoute: admin.route, tcpIngestors: tcpIngestors, tcpSettings: tcpSettings, wedge: wedge,
                logger: logger)
            let entries = live.entries(config: config)
            directory.publish(entries.list, udpPorts: entries.udpPorts)
            logReady(config: config, registry: registry, ingest: ingest, http: http, options: options, logger: logger)

            // The daemon's whole shape: started in this order, shut down in reverse.
            var services: [any Service] = []
            if let state { services.append(StateSaveService(store: state, blocking: threads.blocking)) }
            // Early in the list, so late at shutdown: its last interval has every drained line.
            services.append(remoteWrite)
            services.append(ExpiryService(registry: registry, logger: logger))
            services.append(StatusSamplerService(sampler: sampler))
            services.append(HTTPEndpointService(live: live, serving: serving))
            services.append(UnixIngestService(live: live))
            services.append(DatagramIngestService(live: live))
            services.append(TCPIngestService(live: live))
            services.append(
                SystemdSupervisor(
                    registry: registry, heartbeats: heartbeats, threads: threads, readiness: readiness,
                    statusInterval: options.statusInterval, logger: logger))
            services.append(
                ReloadService(
                    hangups: hangups, requests: reloads, stats: reloadStats, load: options.reloadConfig,
                    initial: loaded, registry: registry, live: live, directory: directory, tcpSettings: tcpSettings,
                    serving: serving, remoteWrite: remoteWrite, state: state, logger: logger))

            let group = ServiceGroup(
                configuration: .init(
                    services: services.map {
                        .init(
                            service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                            failureTerminationBehavior: .gracefullyShutdownGroup)
                    },
                    logger: logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    for await _ in stops {
                        readiness.stopping()
                        await group.triggerGracefulShutdown()
                    }
                }
                defer { tasks.cancelAll() }
                try await group.run()
            }
        }
        var total = IngestStats()
        for (_, s) in registry.ingestStats() { total.merge(s) }
        logger.info(
            "tallyd stopped",
            metadata: [
                "packets": "\(total.packets)", "lines": "\(total.lines)",
                "accepted": "\(total.accepted)", "rejected": "\(total.rejectedTotal)",
                "skipped": "\(total.skipped.reduce(0, +))",
            ])
    }

    /// One line with every address, as bound (port 0 resolved).
    private static func logReady(
        config: TallyConfig, registry: Registry, ingest: IngestListeners, http: HTTPListeners, options: Options,
        logger: Logger
    ) {
        let endpoints = http.services.map { "\($0.name)=http://\(config.metricsAddress):\($0.port)/metrics" }
        let adminHost = config.admin?.host ?? "127.0.0.1"
        logger.info(
            "tallyd ready",
            metadata: [
                "udp": "\(ingest.udpPorts)",
                "tcp": "\(ingest.tcpPorts)",
                "unix": "\(ingest.unix.map(\.receiver.path))",
                "endpoints": "\(endpoints.joined(separator: " "))",
                "admin": "\(http.admin.map { "http://\(adminHost):\($0.port)/metrics" } ?? "off")",
                "families": "\(registry.families.documentedCount) documented",
                "socket_activation": "\(options.passedSockets.map(\.name))",
            ])
    }
}
