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

        if n.udp != o.udp || n.tcp != o.tcp || n.unix != o.unix || n.udpLoops != o.udpLoops
            || n.udpReceiveBuffer != o.udpReceiveBuffer
        {
            restart.append("ingest")
        }
        if n.services != o.services || n.metricsAddress != o.metricsAddress { restart.append("services") }
        if n.admin != o.admin { restart.append("admin") }
        if n.defaultService != o.defaultService { restart.append("default_service") }
        if n.maxLineLength != o.maxLineLength || n.tcpIdleTimeout != o.tcpIdleTimeout {
            restart.append("ingest limits")
        }
        if n.dropClientTelemetry != o.dropClientTelemetry { restart.append("drop_client_telemetry") }
        if n.stateFile != o.stateFile { restart.append("state_file") }
        if n.stateInterval != o.stateInterval { restart.append("state_interval") }

        running = new
        if !restart.isEmpty {
            var merged = o
            merged.logLevel = n.logLevel
            merged.heartbeatTimeout = n.heartbeatTimeout
            merged.unknownFamilies = n.unknownFamilies
            merged.limits = n.limits
            merged.cataloguePath = n.cataloguePath
            merged.defaultBuckets = n.defaultBuckets
            running = new
            running.config = merged
        }
    }

    /// The applied settings, as the reload's log line and `STATUS=` name them; `catalogue`
    /// describes the swap once it happened.
    func applied(catalogue: String?) -> [String] {
        var out: [String] = []
        if let logLevel { out.append("log_level=\(logLevel)") }
        if let heartbeatTimeout { out.append("heartbeat_timeout=\(heartbeatTimeout)s") }
        if let unknownFamilies { out.append("unknown_families=\(unknownFamilies.rawValue)") }
        if let catalogue { out.append(catalogue) }
        if limits != nil { out.append("limits") }
        return out
    }

    /// `reloaded; applied log_level=debug, limits; restart tallyd to apply: services`.
    func summary(catalogue: String?) -> String {
        let applied = applied(catalogue: catalogue)
        var parts = ["reloaded"]
        parts.append(
            applied.isEmpty ? "nothing changed that applies live" : "applied " + applied.joined(separator: ", "))
        if !restart.isEmpty { parts.append("restart tallyd to apply: " + restart.joined(separator: ", ")) }
        return parts.joined(separator: "; ")
    }
}
