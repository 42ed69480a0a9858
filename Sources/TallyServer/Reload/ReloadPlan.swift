import Logging
import TallyCore

/// What a reload does, decided from the running and the new config alone (no side effects):
/// the settings that apply live, whether the catalogue is swapped, and the keys that need a
/// restart. `ReloadService` carries it out; tests read it directly.
struct ReloadPlan: Equatable {
    var logLevel: Logger.Level?
    var heartbeatTimeout: Double?
    var unknownFamilies: FamilyTable.UnknownPolicy?
    var limits: Limits?
    /// Swap the catalogue (with `drop_labels` and `default_buckets`) under every shard lock.
    var swapCatalogue = false
    /// Bind, move or close listeners (ingest, service endpoints, admin).
    var listeners = false
    /// Add or remove services in the registry.
    var services = false
    /// `default_service`, `max_line_length`, `drop_client_telemetry`, `tcp_idle_timeout`.
    var ingestSettings = false
    /// Move the saved state or change its interval.
    var stateFile = false
    /// `web_config_file` or what it says (a renewed certificate is a change): new connections
    /// get the new TLS context, users and headers.
    var web = false
    /// `metrics.max_connections`, `ingest.tcp_max_connections`.
    var connectionLimits = false
    /// `remote_write` (or a password or token file it names).
    var remoteWrite = false
    /// Config keys that changed but only apply at the next start, in config order.
    var restart: [String] = []
    /// What runs once the plan is applied: the new config where it applied, the old one
    /// where a restart is needed, so the next reload compares against what really runs.
    var running: LoadedConfig

    init(old: LoadedConfig, new: LoadedConfig) {
        let (o, n) = (old.config, new.config)
        if n.logLevel != o.logLevel { logLevel = n.logLevel }
        if n.heartbeatTimeout != o.heartbeatTimeout { heartbeatTimeout = n.heartbeatTimeout }
        if n.unknownFamilies != o.unknownFamilies { unknownFamilies = n.unknownFamilies }
        swapCatalogue =
            new.documented != old.documented || n.defaultBuckets != o.defaultBuckets
            || n.limits.dropLabels != o.limits.dropLabels
        if n.limits != o.limits { limits = n.limits }

        // Listeners, services, ingest settings and the saved state's place all apply live now
        // (`LiveListeners`, `Registry.setServices`/`setIngestSettings`); only turning the saved
        // state on or off needs a restart (its service is part of the daemon's shape).
        listeners =
            n.udp != o.udp || n.tcp != o.tcp || n.unix != o.unix || n.services != o.services
            || n.metricsAddress != o.metricsAddress || n.admin != o.admin
        services = n.services != o.services
        ingestSettings =
            n.defaultService != o.defaultService || n.maxLineLength != o.maxLineLength
            || n.dropClientTelemetry != o.dropClientTelemetry || n.tcpIdleTimeout != o.tcpIdleTimeout
        stateFile = n.stateFile != o.stateFile || n.stateInterval != o.stateInterval
        web = new.web != old.web
        remoteWrite = new.remoteWrite != old.remoteWrite
        connectionLimits = n.httpMaxConnections != o.httpMaxConnections || n.tcpMaxConnections != o.tcpMaxConnections
        if (n.stateFile == nil) != (o.stateFile == nil) {
            restart.append("state_file")
            stateFile = false
        }
        running = new
        if !restart.isEmpty {
            running.config.stateFile = o.stateFile
            running.config.stateInterval = o.stateInterval
        }
    }

    /// The applied settings, as the reload's log line and `STATUS=` name them; `catalogue`
    /// describes the swap once it happened.
    func applied(catalogue: String?, listeners: [String] = [], services: [String] = []) -> [String] {
        var out: [String] = []
        if let logLevel { out.append("log_level=\(logLevel)") }
        if let heartbeatTimeout { out.append("heartbeat_timeout=\(heartbeatTimeout)s") }
        if let unknownFamilies { out.append("unknown_families=\(unknownFamilies.rawValue)") }
        if let catalogue { out.append(catalogue) }
        if limits != nil { out.append("limits") }
        out += services
        out += listeners
        if ingestSettings { out.append("ingest settings") }
        if stateFile { out.append("state_file/state_interval") }
        if web { out.append("web config") }
        if connectionLimits { out.append("connection limits") }
        if remoteWrite { out.append("remote_write") }
        return out
    }

    /// `reloaded; applied log_level=debug, limits; restart tallyd to apply: services`.
    func summary(catalogue: String?, listeners: [String] = [], services: [String] = []) -> String {
        let applied = applied(catalogue: catalogue, listeners: listeners, services: services)
        var parts = ["reloaded"]
        parts.append(
            applied.isEmpty ? "nothing changed that applies live" : "applied " + applied.joined(separator: ", "))
        if !restart.isEmpty { parts.append("restart tallyd to apply: " + restart.joined(separator: ", ")) }
        return parts.joined(separator: "; ")
    }
}
