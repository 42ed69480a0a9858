import TallyCore

/// One `remote_write` entry: where tallyd pushes every selected service's series, how often,
/// and how it waits when the receiver does not answer.
public struct RemoteWriteEndpoint: Sendable, Equatable {
    public struct BasicAuth: Sendable, Equatable {
        public var username: String
        public var passwordFile: String
    }

    public struct Queue: Sendable, Equatable {
        /// Samples per request: an interval of more goes as several requests.
        public var maxSamplesPerSend = 2000
        /// Requests of one interval in flight at once.
        public var maxPendingSends = 10
        /// Intervals kept while the receiver is unreachable; older ones are dropped first.
        public var capacityIntervals = 20
    }

    public var url: String
    public var interval: Double = 15
    public var timeout: Double = 10
    public var headers: [String: String] = [:]
    public var basicAuth: BasicAuth?
    public var bearerTokenFile: String?
    public var externalLabels: [String: String] = [:]
    /// nil: every service.
    public var services: [String]?
    public var queue = Queue()

    /// The parts of `url`: `https`, host, port (80/443 when not given), path with query.
    public var parts: (tls: Bool, host: String, port: Int, path: String)? { Self.split(url) }

    static func split(_ url: String) -> (tls: Bool, host: String, port: Int, path: String)? {
        let tls: Bool
        let rest: Substring
        if url.hasPrefix("http://") {
            tls = false
            rest = url.dropFirst(7)
        } else if url.hasPrefix("https://") {
            tls = true
            rest = url.dropFirst(8)
        } else {
            return nil
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        let host: String
        var port = tls ? 443 : 80
        // With a port, the authority is what every listener and target is: HostPort's.
        if authority.hasPrefix("[") ? authority.contains("]:") : authority.contains(":") {
            guard let hostPort = try? HostPort.parse(String(authority), allowAnyPort: false) else { return nil }
            host = hostPort.host
            port = hostPort.port
        } else if authority.hasPrefix("[") {
            guard authority.hasSuffix("]") else { return nil }
            host = String(authority.dropFirst().dropLast())
        } else {
            host = String(authority)
        }
        guard !host.isEmpty else { return nil }
        return (tls, host, port, path)
    }

    static let keys = [
        "url", "interval", "timeout", "headers", "basic_auth", "bearer_token_file", "external_labels", "services",
        "queue",
    ]

    /// One entry of the `remote_write` list.
    static func parse(_ node: ConfigNode) throws(ConfigError) -> RemoteWriteEndpoint {
        let m = try node.mapping(allowed: keys)
        guard let urlNode = m["url"] else { throw node.error("needs a url (http://host:port/api/v1/write)") }
        let url = try urlNode.string()
        guard split(url) != nil else {
            throw urlNode.error(
                "'\(url)' is not an http:// or https:// URL with a host (http://host:9090/api/v1/write)")
        }
        var e = RemoteWriteEndpoint(url: url)
        if let n = m["interval"] {
            e.interval = try n.duration()
            guard e.interval >= 1 else { throw n.error("must be at least 1s") }
        }
        if let n = m["timeout"] {
            e.timeout = try n.duration()
            guard e.timeout > 0 else { throw n.error("must be longer than 0s") }
        }
        if let n = m["headers"], !n.isNull {
            for (name, value) in try n.orderedMapping() {
                let reserved = [
                    "content-encoding", "content-type", "content-length", "user-agent", "host",
                    "x-prometheus-remote-write-version", "authorization",
                ]
                guard !reserved.contains(name.lowercased()) else {
                    throw value.error("header '\(name)' is set by tallyd (use basic_auth or bearer_token_file)")
                }
                e.headers[name] = try value.string()
            }
        }
        if let n = m["basic_auth"], !n.isNull {
            let b = try n.mapping(allowed: ["username", "password_file"])
            guard let user = b["username"], let file = b["password_file"] else {
                throw n.error("needs username and password_file")
            }
            e.basicAuth = BasicAuth(username: try user.string(), passwordFile: try file.string())
        }
        if let n = m["bearer_token_file"], !n.isNull { e.bearerTokenFile = try n.string() }
        if e.basicAuth != nil && e.bearerTokenFile != nil {
            throw node.error("basic_auth and bearer_token_file: give one of them")
        }
        if let n = m["external_labels"], !n.isNull {
            for (name, value) in try n.orderedMapping() {
                guard MetricName.isValidLabelName(name), !name.hasPrefix("__") else {
                    throw value.error("'\(name)' is not a label name")
                }
                e.externalLabels[name] = try value.string()
            }
        }
        if let n = m["services"], !n.isNull { e.services = try n.stringList() }
        if let n = m["queue"], !n.isNull {
            let q = try n.mapping(allowed: ["max_samples_per_send", "max_pending_sends", "capacity_intervals"])
            for (key, node) in q {
                let v = try node.int()
                guard v >= 1 else { throw node.error("must be at least 1") }
                switch key {
                case "max_samples_per_send": e.queue.maxSamplesPerSend = v
                case "max_pending_sends": e.queue.maxPendingSends = v
                default: e.queue.capacityIntervals = v
                }
            }
        }
        return e
    }
}
