import TallyCore
import TallyServer

/// Checks a line before it is sent, with tallyd's own parser and fold against the same
/// catalogue, so a script learns at once (exit 2, the daemon's reason and message) what
/// tallyd would refuse, and nothing is sent.
///
/// Which services exist is the daemon's business: every service the line names is taken as
/// configured here (so services that disagree are still `service_mismatch`), and a line naming
/// none gets a stand-in, as `default_service` would; `namesNoService` says when that happened.
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
        names += servicesNamed(in: line)
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

    /// The services `line` itself names: a `<service>.` prefix (its first segment may be one,
    /// as tallyd would read it) and the values of its `service:` and `service_name:` tags.
    static func servicesNamed(in line: String) -> [String] {
        var names: [String] = []
        let head = line.prefix { $0 != "|" }
        if let dot = head.firstIndex(of: "."), let colon = head.firstIndex(of: ":"), dot < colon {
            names.append(String(head[..<dot]))
        }
        for field in line.split(separator: "|").dropFirst() where field.hasPrefix("#") {
            for tag in field.dropFirst().split(separator: ",") {
                let kv = tag.split(separator: ":", maxSplits: 1)
                if kv.count == 2, kv[0] == "service" || kv[0] == "service_name" { names.append(String(kv[1])) }
            }
        }
        return names
    }

    /// True when `line` names no service (no prefix, no service tag) and none is given: tallyd
    /// then refuses it as `no_service` unless its config sets `default_service`.
    static func namesNoService(_ line: String, service: String?) -> Bool {
        service == nil && servicesNamed(in: line).isEmpty
    }

    /// A refusal as the CLI reports it: `tallyd would refuse it (reason): detail`.
    static func describe(_ r: Rejection) -> String {
        "tallyd would refuse it (\(r.reason.rawValue)): \(r.detail)"
    }

    /// The warning for such a line.
    static func noServiceWarning(_ line: String) -> String {
        "tally: warning: '\(line)' names no service: tallyd counts it no_service unless its config sets "
            + "default_service (name one with --service, TALLY_SERVICE or a <service>. prefix)"
    }
}
