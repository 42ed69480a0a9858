import TallyCore
import TallyServer

/// Checks a line before it is sent, with tallyd's own parser and fold against the same
/// catalogue, so a script learns at once (exit 2, the daemon's reason and message) what
/// tallyd would refuse, and nothing is sent.
///
/// Which services exist is the daemon's business: the line's service, whatever it is, is
/// accepted here (and a line naming none gets a stand-in, as `default_service` would).
enum LocalCheck {
    /// The catalogue `path` names, or the embedded one.
    static func catalogue(_ path: String?) throws -> Catalogue {
        guard let path else { return CatalogueLoader.embedded() }
        return try CatalogueLoader.parse(yaml: try FileText.read(path), source: path)
    }

    /// The refusal tallyd would log for `line`, or nil when it would fold it.
    static func refusal(of line: String, service: String?, catalogue: Catalogue) -> Rejection? {
        var names = ["tally-cli-default-service"]
        if let service { names.append(service) }
        // A `<service>.` prefix: its first segment may be a service, as tallyd would read it.
        if let dot = line.firstIndex(of: "."), let colon = line.firstIndex(of: ":"), dot < colon {
            names.append(String(line[..<dot]))
        }
        let families = FamilyTable(
            catalogue: catalogue, policy: .accept, defaultBuckets: TallyConfig.embeddedDefault().defaultBuckets)
        let registry = Registry(
            families: families, services: ServiceTable(names: names, heartbeatTimeout: 30), shardCount: 1)
        var found: Rejection?
        let ingestor = Ingestor(
            registry: registry, transport: "tally", defaultService: 0, limiter: RejectLogLimiter(interval: 0)
        ) { rejection in
            if found == nil { found = rejection }
        }
        Array(line.utf8).withUnsafeBytes { ingestor.ingest(packet: $0, now: 0) }
        return found
    }
}
