import ArgumentParser
import Logging
import TallyCore
import TallyServer
import TallySystem

#if canImport(Glibc)
    import Glibc
#endif

@main
struct Tallyd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tallyd",
        abstract:
            "Receive StatsD/DogStatsD lines, fold them into the documented metric families, and serve one "
            + "Prometheus /metrics endpoint per service.",
        usage: "tallyd [--config FILE] [--state-file FILE] [--web.config.file FILE] | --check-config FILE | --version",
        discussion: """
            SEND lines over UDP or TCP (127.0.0.1:8125 by default; TCP lines end
            with \\n) or to Unix datagram sockets (ingest.unix), several per packet:
              name:value|type[|@rate][|#tag:value,...]
              c   counter (adds value/rate)    g   gauge (+N/-N adjust it)
              ms  timer in milliseconds, stored in seconds
              h d observation in the family's unit (seconds, bytes)
              s   set member: a gauge of distinct members in limits.set_window
            e.g.
              echo 'db_connections_total:7|g|#service:risk_manager' \\
                | socat - UDP:127.0.0.1:8125

            SERVICE: a service_name: or service: tag, else a <service>. prefix
              (order_executor.orders_placed_total:1|c|#...), else default_service.

            DOCUMENTED FAMILIES are strict: the type must fit, every documented
              label must arrive as a tag; other tags are dropped and counted.
              Other names become new families (counters get _total, timers
              _seconds) unless unknown_families: reject.

            SCRAPE each service on its own port: curl 127.0.0.1:8003/metrics
              tallyd's own counters: curl 127.0.0.1:9102/metrics

            REFUSED LINES are counted in tally_lines_rejected_total{reason} and
              logged at most once per second per reason:
            \(RejectReason.allCases.map { "  \($0.rawValue.padding(20)) \($0.explanation)" }.joined(separator: "\n"))

            LIMITS: limits.max_series_per_family/_per_service refuse new series,
              limits.ttl expires silent ones, limits.families.<name>.drop_labels
              aggregates unique-id labels away (docs/configuration.md, "Limits, by example").

            SIGNALS: SIGHUP (or POST /-/reload on the admin port) re-reads
              --config and applies all of it live: listeners, services, limits,
              the catalogue; an invalid file changes nothing. SIGTERM drains
              and exits 0.
            ADMIN (127.0.0.1:9102): / status page, /api/v1/status, /metrics,
              /-/healthy, /-/ready, POST /-/reload; tally status, tally top.
            EXPOSED? --web.config.file adds TLS and basic auth to every endpoint
              (Prometheus exporter-toolkit format; hashes from tally hash-password).
            SYSTEMD: Type=notify (READY, STATUS, WATCHDOG while every loop answers),
              socket activation by FileDescriptorName; see systemd/tally.service.
            """,
        version: TallyVersion.current)

    @Option(
        name: .customLong("config"),
        help: ArgumentHelp("Configuration file (YAML). Without it the embedded default runs.", valueName: "file"))
    var configPath: String?

    @Flag(name: .long, help: "Print the embedded default configuration and exit.")
    var printDefaultConfig = false

    @Flag(name: .long, help: "Print the embedded metric catalogue (families.yaml) and exit.")
    var printDefaultCatalogue = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Save the series here at stop and every state_interval, and restore them at start (overrides "
                + "state_file in the config). The installed unit uses %S/tally/state.",
            valueName: "file"))
    var stateFile: String?

    @Option(
        name: .customLong("web.config.file"),
        help: ArgumentHelp(
            "exporter-toolkit web config (TLS, basic auth, headers) for every HTTP endpoint (overrides "
                + "web_config_file in the config). See docs/security.md.",
            valueName: "file"))
    var webConfigFile: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Check a configuration file (and the catalogue it names), print what is wrong, and exit 0 if it is "
                + "valid, 1 if not.",
            valueName: "file"))
    var checkConfig: String?

    func run() async throws {
        if printDefaultConfig {
            print(TallyConfig.defaultYAML, terminator: "")
            return
        }
        if printDefaultCatalogue {
            print(CatalogueLoader.embeddedYAML, terminator: "")
            return
        }
        if let path = checkConfig {
            if let configPath {
                Self.fail(
                    "--check-config \(path) checks that file; --config \(configPath) would be ignored: give one of them "
                        + "(tallyd --check-config FILE)", code: 64)
            }
            // Everything start-up would check before binding, and nothing that makes a thread.
            do {
                var config = try Self.load(path)
                if let webConfigFile { config.webConfigFile = webConfigFile }
                let loaded = try LoadedConfig(config)
                for warning in loaded.warnings { StandardError.print("tallyd: warning: \(warning)") }
                print("\(path): ok (\(Self.summary(loaded.config)))")
                return
            } catch {
                Self.fail("\(error)")
            }
        }
        let stateFile = self.stateFile
        let webConfigFile = self.webConfigFile
        let loaded: LoadedConfig
        do {
            var config = try configPath.map(Self.load) ?? TallyConfig.embeddedDefault()
            if let stateFile { config.stateFile = stateFile }
            if let webConfigFile { config.webConfigFile = webConfigFile }
            loaded = try LoadedConfig(config)
        } catch {
            Self.fail("\(error)")
        }
        Self.raiseDescriptorLimit()
        LogLevelControl.shared.level = loaded.config.logLevel
        LoggingSystem.bootstrap(LogLevelControl.handler)
        var options = Daemon.Options(
            passedSockets: Systemd.takeListenedSockets(),
            debugHooks: getenv("TALLYD_DEBUG_HOOKS").map { String(cString: $0) == "1" } ?? false)
        if let interval = getenv("TALLYD_STATUS_INTERVAL").flatMap({ Double(String(cString: $0)) }), interval > 0 {
            options.statusInterval = interval
        }
        if let path = configPath {
            options.reloadConfig = {
                var c = try Self.load(path)
                if let stateFile { c.stateFile = stateFile }
                if let webConfigFile { c.webConfigFile = webConfigFile }
                return c
            }
        }
        do {
            try await Daemon.run(loaded, options: options, logger: Logger(label: "tallyd"))
        } catch {
            Self.fail("\(error)")
        }
    }

    /// The soft RLIMIT_NOFILE up to the hard one (as Go programs do at start): connection limits,
    /// not a default of 1024 descriptors, should decide how many clients tallyd serves.
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    static func load(_ path: String) throws -> TallyConfig {
        try TallyConfig.parse(yaml: try FileText.read(path), source: path)
    }

    static func fail(_ message: String, code: Int32 = 1) -> Never {
        StandardError.print("tallyd: \(message)")
        Systemd.notify("STATUS=failed: \(message)")
        Glibc.exit(code)
    }

    /// What --check-config found: `6 services; ingest 1 UDP, 1 TCP, 1 Unix; 7 HTTP endpoints`.
    static func summary(_ config: TallyConfig) -> String {
        let http = config.services.count + (config.admin == nil ? 0 : 1)
        return "\(config.services.count) services; ingest \(config.udp.count) UDP, \(config.tcp.count) TCP, "
            + "\(config.unix.count) Unix; \(http) HTTP endpoints (\(config.services.count) /metrics"
            + (config.admin == nil ? ")" : " and the admin endpoint)")
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
