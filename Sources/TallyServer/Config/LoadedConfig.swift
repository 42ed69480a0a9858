import TallyCore

#if canImport(Glibc)
    import Glibc
#endif

/// A config and the catalogue it names, both validated against each other and against the
/// machine (a Unix socket's group and directory).
///
/// This is everything `--check-config` checks and everything start-up needs before it makes a
/// thread or binds a socket; a reload builds a new one off to the side and applies it only
/// when it loaded whole.
public struct LoadedConfig: Sendable, Equatable {
    public var config: TallyConfig
    public var catalogue: Catalogue
    /// `web_config_file`, read and checked (its certificate, key and hashes); nil for plain HTTP.
    public var web: WebConfig?
    /// `remote_write`, with password and token files read.
    public var remoteWrite: [RemoteWriteTarget] = []
    /// Things that are allowed but probably not meant (a `limits.families` key that names no
    /// documented family): printed by `--check-config`, logged at start and reload.
    public var warnings: [String] = []

    /// Loads the catalogue `config` names (or the embedded one) and checks the config's
    /// `drop_labels` and `limits.families` against it, and its Unix sockets against the machine.
    public init(_ config: TallyConfig) throws {
        let catalogue: Catalogue
        if let path = config.cataloguePath {
            guard access(path, R_OK) == 0 else {
                throw config.locations.error("catalogue", "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            catalogue = try CatalogueLoader.parse(yaml: try FileText.read(path), source: path)
        } else {
            catalogue = CatalogueLoader.embedded()
        }
        // The mistake is in the config, where drop_labels is written: name that file and line.
        for (name, drop) in config.limits.dropLabels.sorted(by: { $0.key < $1.key }) {
            if let problem = FamilyTable.problem(dropLabels: [name: drop], catalogue: catalogue) {
                let key = "limits.families.\(name).drop_labels"
                throw ConfigError(
                    source: config.locations.source, line: config.locations.line(key), key: "", problem: problem)
            }
        }
        try Self.checkUnixSockets(config)
        if let path = config.webConfigFile {
            guard access(path, R_OK) == 0 else {
                throw config.locations.error(
                    "web_config_file", "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            web = try WebConfig.load(path: path)
        }
        remoteWrite = try RemoteWriteTarget.load(config)
        self.config = config
        self.catalogue = catalogue
        warnings = Self.unmatchedFamilyLimits(config, catalogue)
    }

    /// The documented families as the registry holds them: `drop_labels` taken out.
    public var documented: [FamilyDescriptor] {
        catalogue.families.map { $0.dropping(config.limits.dropLabels[$0.name] ?? []) }
    }

    /// A registry for this config: the catalogue's families, the configured services, the limits.
    public func makeRegistry(now: Double) -> Registry {
        let families = FamilyTable(
            catalogue: catalogue, policy: config.unknownFamilies, defaultBuckets: config.defaultBuckets,
            dropLabels: config.limits.dropLabels)
        let services = ServiceTable(names: config.services.map(\.name), heartbeatTimeout: config.heartbeatTimeout)
        return Registry(families: families, services: services, limits: config.limits, epoch: now)
    }

    /// What start-up would fail on when it creates the sockets: a group that does not exist, a
    /// directory that is not there.
    static func checkUnixSockets(_ config: TallyConfig) throws(ConfigError) {
        for (i, socket) in config.unix.enumerated() {
            let directory = socket.path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
                .joined(separator: "/")
            var st = stat()
            // Start-up replaces a stale socket, never anything else: a file or a directory at
            // the path stops it, so it stops --check-config too.
            if lstat(socket.path, &st) == 0, st.st_mode & S_IFMT != S_IFSOCK {
                let what = st.st_mode & S_IFMT == S_IFDIR ? "a directory" : "a file that is not a socket"
                throw config.locations.error(
                    "ingest.unix[\(i)].path", "\(socket.path) is \(what); tallyd only replaces a stale socket there")
            }
            if !directory.isEmpty, stat(directory, &st) != 0 || st.st_mode & S_IFMT != S_IFDIR {
                throw config.locations.error(
                    "ingest.unix[\(i)].path",
                    "the directory \(directory) does not exist (create it, or under systemd use RuntimeDirectory=)")
            }
            if let group = socket.group, getgrnam(group) == nil {
                throw config.locations.error(
                    "ingest.unix[\(i)].group", "group '\(group)' does not exist on this machine (getent group)")
            }
        }
    }

    /// `limits.families` keys that name no documented family: a typo, or an undocumented family
    /// that may appear later. Each names the nearest documented family.
    static func unmatchedFamilyLimits(_ config: TallyConfig, _ catalogue: Catalogue) -> [String] {
        let limits = config.limits
        let keys = Set(limits.families.keys).union(limits.familyTTL.keys).union(limits.dropLabels.keys)
        let documented = catalogue.families.map(\.name)
        var out: [String] = []
        for key in keys.sorted() {
            if documented.contains(key) || documented.contains(key + "_total") { continue }
            let place =
                config.locations.line("limits.families.\(key)").map { "\(config.locations.source):\($0): " } ?? ""
            var message = "\(place)limits.families.\(key) names no documented family"
            if let nearest = Nearest.name(to: key, in: documented), nearest.distance <= max(3, key.count / 4) {
                message += " (did you mean \(nearest.name)?)"
            }
            message += "; it applies only to an undocumented family of that name"
            out.append(message)
        }
        return out
    }
}

/// The closest spelling, for "did you mean".
enum Nearest {
    static func name(to word: String, in candidates: [String]) -> (name: String, distance: Int)? {
        candidates.map { ($0, distance(word, $0)) }.min { $0.1 < $1.1 }
    }

    /// Levenshtein distance over bytes (names are ASCII).
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var row = Array(0...y.count)
        for i in 1...max(x.count, 1) where !x.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(y.count, 1) where !y.isEmpty {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                let next = min(row[j] + 1, row[j - 1] + 1, previous + cost)
                previous = row[j]
                row[j] = next
            }
        }
        return x.isEmpty ? y.count : row[y.count]
    }
}
