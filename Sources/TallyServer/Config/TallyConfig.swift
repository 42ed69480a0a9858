import Logging
import TallyCore

/// The daemon's configuration (see config/tallyd.yaml for the annotated default).
public struct TallyConfig: Sendable, Equatable {
    public typealias HostPort = TallyCore.HostPort

    /// A Unix datagram socket to receive on; `service` binds every line on it to one service.
    public struct UnixSocket: Sendable, Equatable {
        public var path: String
        public var service: String?
        public var mode: UInt32 = 0o660
        public var group: String?
        /// `identity: peer`: each datagram's service comes from its sender's uid (or gid), which
        /// the kernel vouches for (SCM_CREDENTIALS), through these maps; nil for other sockets.
        public var peerIdentity: PeerIdentity?
    }

    public struct PeerIdentity: Sendable, Equatable {
        public var uids: [UInt32: String] = [:]
        public var gids: [UInt32: String] = [:]

        /// Every service the maps name.
        var services: [String] { Array(Set(uids.values).union(gids.values)).sorted() }
    }

    public struct Service: Sendable, Equatable {
        public var name: String
        public var port: Int
    }

    public var udp: [HostPort]
    public var unix: [UnixSocket]
    public var tcp: [HostPort]
    public var maxLineLength: Int
    public var tcpIdleTimeout: Double
    /// SO_RCVBUF asked for each UDP and Unix ingest socket (the kernel caps it at rmem_max).
    public var udpReceiveBuffer = 8 << 20
    /// Receive loops (SO_REUSEPORT sockets) per UDP address; 0 = one per core.
    public var udpLoops = 0
    public var metricsAddress: String
    public var admin: HostPort?
    public var services: [Service]
    public var cataloguePath: String?
    public var unknownFamilies: FamilyTable.UnknownPolicy
    public var defaultService: String?
    public var defaultBuckets: [Double]
    public var heartbeatTimeout: Double
    public var logLevel: Logger.Level
    /// Skip `datadog.dogstatsd.client.*` telemetry (counted as skipped).
    public var dropClientTelemetry = true
    public var limits = TallyCore.Limits()
    /// Where the series are saved (at stop and every `stateInterval`) and restored from at
    /// start; nil = no saved state.
    public var stateFile: String?
    public var stateInterval: Double = 60
    /// TCP ingest connections open at once (`ingest.tcp_max_connections`); more are closed
    /// as they arrive, and counted.
    public var tcpMaxConnections = 1024
    /// HTTP connections open at once per endpoint (`metrics.max_connections`).
    public var httpMaxConnections = 64
    /// exporter-toolkit's web config (TLS, basic auth, headers) for every HTTP endpoint.
    public var webConfigFile: String?
    /// Where every interval's series are pushed (Prometheus remote write 1.0).
    public var remoteWrite: [RemoteWriteEndpoint] = []
    /// Where each key was written, for checks after parsing; not part of equality.
    public var locations = SourceLocations()

    /// The configuration compiled into the binary (config/tallyd.yaml).
    public static let defaultYAML = EmbeddedConfig.tallydYAML + "\n"

    public static func embeddedDefault() -> TallyConfig {
        try! parse(yaml: defaultYAML, from: .embedded)
    }

    static let topLevelKeys = [
        "ingest", "metrics", "admin", "services", "catalogue", "unknown_families",
        "default_service", "default_buckets", "heartbeat_timeout", "log_level",
        "drop_client_telemetry", "limits", "state_file", "state_interval", "web_config_file", "remote_write",
    ]

    /// `identity: peer` with its `uids`/`gids` maps (numeric ids → service), or nil.
    static func peerIdentity(
        _ u: [String: ConfigNode], item: ConfigNode, service: String?
    ) throws(ConfigError) -> PeerIdentity? {
        guard let node = u["identity"], !node.isNull else {
            if let maps = u["uids"] ?? u["gids"] { throw maps.error("uids/gids need identity: peer") }
            return nil
        }
        guard try node.string() == "peer" else {
            throw node.error("the only identity is 'peer' (the sender's uid/gid)")
        }
        if service != nil {
            throw node.error("a socket is either bound to one service or has identity: peer, not both")
        }
        var identity = PeerIdentity()
        for (key, assign) in [("uids", true), ("gids", false)] {
            guard let mapNode = u[key], !mapNode.isNull else { continue }
            for (id, value) in try mapNode.orderedMapping() {
                guard let n = UInt32(id) else { throw value.error("'\(id)' is not a numeric \(key.dropLast())") }
                if assign { identity.uids[n] = try value.string() } else { identity.gids[n] = try value.string() }
            }
        }
        if identity.uids.isEmpty && identity.gids.isEmpty {
            throw node.error("identity: peer needs uids or gids (id → service), e.g. uids: {1001: order_executor}")
        }
        return identity
    }

    /// Parses and validates the file `source`; every error names the key and line.
    public static func parse(yaml: String, source: String) throws(ConfigError) -> TallyConfig {
        try parse(yaml: yaml, from: .file(source))
    }

    /// Parses and validates; a file's keys change the embedded defaults, the embedded copy is them.
    static func parse(yaml: String, from origin: ConfigSource) throws(ConfigError) -> TallyConfig {
        let source = origin.name
        let root = try ConfigNode.parse(yaml: yaml, source: source)
        let defaults = origin == .embedded ? nil : embeddedDefault()
        // "A file only needs the keys it changes": an empty (or comment-only) file changes none.
        if root.isNull, let defaults {
            var config = defaults
            config.locations = SourceLocations(source: source, origin: origin)
            return config
        }
        let top = try root.mapping(allowed: topLevelKeys)
        var lines: [String: Int] = [:]
        func mark(_ node: ConfigNode) { if let line = node.line { lines[node.path] = line } }

        var udp = defaults?.udp ?? []
        var unix = defaults?.unix ?? []
        var tcp = defaults?.tcp ?? []
        var maxLineLength = defaults?.maxLineLength ?? 65_536
        var tcpIdleTimeout = defaults?.tcpIdleTimeout ?? 300
        var udpReceiveBuffer = defaults?.udpReceiveBuffer ?? 8 << 20
        var udpLoops = defaults?.udpLoops ?? 0
        var tcpMaxConnections = defaults?.tcpMaxConnections ?? 1024
        if let ingest = top["ingest"] {
            let m = try ingest.mapping(allowed: [
                "udp", "unix", "tcp", "max_line_length", "tcp_idle_timeout", "tcp_max_connections",
                "udp_receive_buffer", "udp_loops",
            ])
            if let n = m["udp_receive_buffer"] {
                udpReceiveBuffer = try n.byteSize()
                guard udpReceiveBuffer >= 4096 else { throw n.error("must be at least 4KiB") }
            }
            if let n = m["udp_loops"] {
                udpLoops = try n.int()
                guard (0...256).contains(udpLoops) else { throw n.error("must be 0 (one per core) to 256") }
            }
            if let list = m["udp"] {
                udp = []
                for item in try list.sequence() {
                    udp.append(try hostPort(item))
                    mark(item)
                }
            }
            if let list = m["tcp"] {
                tcp = []
                for item in try list.sequence() {
                    tcp.append(try hostPort(item))
                    mark(item)
                }
            }
            if let list = m["unix"] {
                unix = []
                for item in try list.sequence() {
                    let u = try item.mapping(allowed: ["path", "service", "mode", "group", "identity", "uids", "gids"])
                    guard let path = u["path"] else { throw item.error("needs a path") }
                    var socket = UnixSocket(path: try path.string())
                    mark(path)
                    guard socket.path.hasPrefix("/"), socket.path.utf8.count < 108 else {
                        throw path.error("must be an absolute path shorter than 108 bytes")
                    }
                    mark(item)
                    if let s = u["service"], !s.isNull {
                        socket.service = try s.string()
                        mark(s)
                    }
                    if let g = u["group"], !g.isNull {
                        socket.group = try g.string()
                        mark(g)
                    }
                    if let modeNode = u["mode"] {
                        let text = try modeNode.string()
                        guard let mode = UInt32(text, radix: 8), mode <= 0o777 else {
                            throw modeNode.error("'\(text)' is not an octal file mode like \"0660\"")
                        }
                        socket.mode = mode
                    }
                    socket.peerIdentity = try Self.peerIdentity(u, item: item, service: socket.service)
                    unix.append(socket)
                }
            }
            if let n = m["max_line_length"] {
                maxLineLength = try n.int()
                guard maxLineLength >= 64 else { throw n.error("must be at least 64 bytes") }
            }
            if let n = m["tcp_idle_timeout"] {
                tcpIdleTimeout = try n.duration()
                guard tcpIdleTimeout > 0 else { throw n.error("must be longer than 0s") }
            }
            if let n = m["tcp_max_connections"] {
                tcpMaxConnections = try n.int()
                guard tcpMaxConnections >= 1 else { throw n.error("must be at least 1") }
            }
        }
        var metricsAddress = defaults?.metricsAddress ?? "127.0.0.1"
        var httpMaxConnections = defaults?.httpMaxConnections ?? 64
        if let metrics = top["metrics"] {
            let m = try metrics.mapping(allowed: ["address", "max_connections"])
            if let a = m["address"] { metricsAddress = try a.string() }
            if let n = m["max_connections"] {
                httpMaxConnections = try n.int()
                guard httpMaxConnections >= 1 else { throw n.error("must be at least 1") }
            }
        }
        var remoteWrite = defaults?.remoteWrite ?? []
        if let node = top["remote_write"] {
            remoteWrite = []
            if !node.isNull {
                for item in try node.sequence() {
                    remoteWrite.append(try RemoteWriteEndpoint.parse(item))
                    mark(item)
                    if let m = try? item.mapping(allowed: []) {
                        for (_, child) in m { mark(child) }
                        if let b = m["basic_auth"], let bm = try? b.mapping(allowed: []) {
                            for (_, c) in bm { mark(c) }
                        }
                    }
                }
            }
        }
        var webConfigFile = defaults?.webConfigFile
        if let node = top["web_config_file"] {
            webConfigFile = node.isNull ? nil : try node.string()
            mark(node)
            if webConfigFile?.isEmpty == true { throw node.error("give a path, or null for plain HTTP") }
        }
        var admin = defaults?.admin
        if let node = top["admin"] {
            if node.isNull {
                admin = nil
            } else {
                let m = try node.mapping(allowed: ["address", "port"])
                let address = try m["address"].map { n throws(ConfigError) in try n.string() } ?? "127.0.0.1"
                guard let portNode = m["port"] else { throw node.error("needs a port") }
                admin = HostPort(host: address, port: try port(portNode))
                mark(portNode)
            }
        }
        var services = defaults?.services ?? []
        if let node = top["services"] {
            services = []
            for (name, value) in try node.orderedMapping() {
                guard MetricName.isValidLabelName(name) else {
                    throw value.error(
                        "service name must match [a-zA-Z_][a-zA-Z0-9_]* (it is a label value and a name prefix)")
                }
                let m = try value.mapping(allowed: ["port"])
                guard let p = m["port"] else { throw value.error("needs a port") }
                services.append(Service(name: name, port: try port(p)))
                mark(p)
            }
            guard !services.isEmpty else { throw node.error("at least one service is needed") }
        }
        var cataloguePath = defaults?.cataloguePath
        if let node = top["catalogue"] {
            cataloguePath = node.isNull ? nil : try node.string()
            mark(node)
        }
        var policy = defaults?.unknownFamilies ?? .accept
        if let node = top["unknown_families"] {
            let s = try node.string()
            guard let p = FamilyTable.UnknownPolicy(rawValue: s) else {
                throw node.error("must be accept or reject, not '\(s)'")
            }
            policy = p
        }
        var defaultService = defaults?.defaultService
        if let node = top["default_service"] { defaultService = node.isNull ? nil : try node.string() }
        var buckets = defaults?.defaultBuckets ?? []
        if let node = top["default_buckets"] {
            buckets = try node.doubleList()
            guard !buckets.isEmpty else { throw node.error("needs at least one bucket") }
            for i in buckets.indices.dropFirst() where buckets[i] <= buckets[i - 1] {
                throw node.error("bucket bounds must be strictly ascending")
            }
        }
        var heartbeat = defaults?.heartbeatTimeout ?? 30
        if let node = top["heartbeat_timeout"] {
            heartbeat = try node.duration()
            guard heartbeat > 0 else { throw node.error("must be longer than 0s") }
        }
        var level = defaults?.logLevel ?? .info
        if let node = top["log_level"] {
            let s = try node.string()
            guard let l = Logger.Level(rawValue: s) else {
                throw node.error("must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            level = l
        }

        var dropTelemetry = defaults?.dropClientTelemetry ?? true
        if let node = top["drop_client_telemetry"] { dropTelemetry = try node.bool() }
        var limits = defaults?.limits ?? TallyCore.Limits()
        if let node = top["limits"] {
            let m = try node.mapping(allowed: [
                "max_series_per_family", "max_series_per_service", "families", "ttl", "set_window", "set_max_values",
            ])
            func positive(_ n: ConfigNode) throws(ConfigError) -> Int {
                let v = try n.int()
                guard v > 0 else { throw n.error("must be at least 1") }
                return v
            }
            func ttl(_ n: ConfigNode) throws(ConfigError) -> Double {
                let v = try n.duration()
                guard v >= 0 else { throw n.error("must be 0 (never) or longer") }
                return v
            }
            if let n = m["max_series_per_family"] { limits.maxSeriesPerFamily = try positive(n) }
            if let n = m["max_series_per_service"] { limits.maxSeriesPerService = try positive(n) }
            if let n = m["ttl"] { limits.ttl = try ttl(n) }
            if let n = m["set_window"] {
                limits.setWindow = try n.duration()
                guard limits.setWindow > 0 else { throw n.error("must be longer than 0s") }
            }
            if let n = m["set_max_values"] { limits.setMaxValues = try positive(n) }
            if let n = m["families"], !n.isNull {
                limits.families = [:]
                limits.familyTTL = [:]
                limits.dropLabels = [:]
                for (name, value) in try n.orderedMapping() {
                    mark(value)
                    if let v = try? value.int() {
                        guard v > 0 else { throw value.error("must be at least 1") }
                        limits.families[name] = v
                        continue
                    }
                    let f = try value.mapping(allowed: ["max_series", "ttl", "drop_labels"])
                    guard !f.isEmpty else {
                        throw value.error("give max_series, ttl or drop_labels (or the series limit as a number)")
                    }
                    if let v = f["max_series"] { limits.families[name] = try positive(v) }
                    if let v = f["ttl"] { limits.familyTTL[name] = try ttl(v) }
                    if let v = f["drop_labels"] {
                        mark(v)
                        let labels = try v.stringList()
                        guard !labels.isEmpty else { throw v.error("lists no label") }
                        limits.dropLabels[name] = labels
                    }
                }
            }
        }

        var stateFile = defaults?.stateFile
        if let node = top["state_file"] {
            stateFile = node.isNull ? nil : try node.string()
            if stateFile?.isEmpty == true { throw node.error("give a path, or null for no saved state") }
        }
        var stateInterval = defaults?.stateInterval ?? 60
        if let node = top["state_interval"] {
            stateInterval = try node.duration()
            guard stateInterval >= 1 else { throw node.error("must be at least 1s") }
        }

        // Cross-checks.
        var seenNames = Set<String>()
        let servicesNode = top["services"] ?? root
        for s in services {
            guard seenNames.insert(s.name).inserted else {
                throw servicesNode.error("service '\(s.name)' is listed twice")
            }
        }
        for (i, u) in unix.enumerated() {
            // At the entry's own key and line (the defaults' sockets have none).
            func error(_ key: String, _ problem: String) -> ConfigError {
                let line = lines[key] ?? lines["ingest.unix[\(i)]"]
                return ConfigError(source: source, line: line ?? top["ingest"]?.line, key: key, problem: problem)
            }
            if let s = u.service, !seenNames.contains(s) {
                throw error(
                    "ingest.unix[\(i)].service", "'\(s)' is not one of the configured services (socket \(u.path))")
            }
            for s in u.peerIdentity?.services ?? [] where !seenNames.contains(s) {
                throw error(
                    "ingest.unix[\(i)].identity",
                    "uids/gids map to '\(s)', which is not one of the configured services (socket \(u.path))")
            }
        }
        if let d = defaultService, !seenNames.contains(d) {
            throw (top["default_service"] ?? root).error("'\(d)' is not one of the configured services")
        }
        var config = TallyConfig(
            udp: udp, unix: unix, tcp: tcp, maxLineLength: maxLineLength, tcpIdleTimeout: tcpIdleTimeout,
            udpReceiveBuffer: udpReceiveBuffer, udpLoops: udpLoops,
            metricsAddress: metricsAddress, admin: admin, services: services,
            cataloguePath: cataloguePath, unknownFamilies: policy, defaultService: defaultService,
            defaultBuckets: buckets, heartbeatTimeout: heartbeat, logLevel: level,
            dropClientTelemetry: dropTelemetry, limits: limits, stateFile: stateFile, stateInterval: stateInterval)
        config.tcpMaxConnections = tcpMaxConnections
        config.httpMaxConnections = httpMaxConnections
        config.webConfigFile = webConfigFile
        config.remoteWrite = remoteWrite
        config.locations = SourceLocations(source: source, lines: lines, origin: origin)
        try ListenerConflicts.check(config)
        return config
    }

    static func port(_ node: ConfigNode) throws(ConfigError) -> Int {
        let p = try node.int()
        guard (0...65535).contains(p) else { throw node.error("port \(p) is outside 0-65535 (0 = any free port)") }
        return p
    }

    /// `host:port`, `[v6]:port`; port 0 = any free port.
    static func hostPort(_ node: ConfigNode) throws(ConfigError) -> HostPort {
        let text = try node.string()
        do {
            return try HostPort.parse(text, allowAnyPort: true)
        } catch {
            throw node.error(error.message)
        }
    }
}
