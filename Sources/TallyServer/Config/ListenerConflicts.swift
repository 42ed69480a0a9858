import TallyCore

/// Two listeners on one address fail at start with EADDRINUSE; this finds every such pair in
/// the config first, across all listener kinds, so `--check-config` says which two keys clash.
///
/// TCP listeners (ingest.tcp, every service's /metrics, the admin endpoint) clash with each
/// other, UDP listeners with each other, Unix sockets by path. Port 0 ("any free port") never
/// clashes. A wildcard host (`0.0.0.0`, `::`) clashes with every host on the same port, and
/// `localhost` is `127.0.0.1`.
enum ListenerConflicts {
    struct Claim {
        enum Kind: String {
            case tcp = "TCP"
            case udp = "UDP"
            case unix = "Unix"
        }
        let kind: Kind
        /// Host and port, or the socket path for Unix sockets.
        let host: String
        let port: Int
        /// The config key that asks for it (`ingest.tcp[0]`, `services.risk_manager.port`).
        let key: String
    }

    /// Every listener the config asks for, in config order.
    static func claims(_ config: TallyConfig) -> [Claim] {
        var out: [Claim] = []
        for (i, a) in config.udp.enumerated() {
            out.append(Claim(kind: .udp, host: a.host, port: a.port, key: "ingest.udp[\(i)]"))
        }
        for (i, a) in config.tcp.enumerated() {
            out.append(Claim(kind: .tcp, host: a.host, port: a.port, key: "ingest.tcp[\(i)]"))
        }
        for (i, u) in config.unix.enumerated() {
            out.append(Claim(kind: .unix, host: u.path, port: -1, key: "ingest.unix[\(i)].path"))
        }
        for s in config.services {
            out.append(Claim(kind: .tcp, host: config.metricsAddress, port: s.port, key: "services.\(s.name).port"))
        }
        if let admin = config.admin {
            out.append(Claim(kind: .tcp, host: admin.host, port: admin.port, key: "admin.port"))
        }
        return out
    }

    static func clash(_ a: Claim, _ b: Claim) -> Bool {
        guard a.kind == b.kind else { return false }
        if a.kind == .unix { return a.host == b.host }
        guard a.port != 0, a.port == b.port else { return false }
        let (x, y) = (normalized(a.host), normalized(b.host))
        return x == y || isWildcard(x) || isWildcard(y)
    }

    static func normalized(_ host: String) -> String { host == "localhost" ? "127.0.0.1" : host }
    static func isWildcard(_ host: String) -> Bool { host == "0.0.0.0" || host == "::" || host.isEmpty }

    /// Throws at the later of the first clashing pair, naming both keys and where each is.
    static func check(_ config: TallyConfig) throws(ConfigError) {
        let all = claims(config)
        for (j, b) in all.enumerated() {
            for a in all[..<j] where clash(a, b) {
                // Point at a key the file sets: a default is easier to name than to find.
                let (here, other) =
                    config.locations.line(b.key) == nil && config.locations.line(a.key) != nil ? (a, b) : (b, a)
                let address = here.kind == .unix ? here.host : HostPort(host: here.host, port: here.port).description
                throw config.locations.error(
                    here.key,
                    "\(here.kind.rawValue) \(address) is also \(other.key) (\(config.locations.place(other.key))): "
                        + "two listeners cannot share an address (port 0 picks a free one)")
            }
        }
    }
}
