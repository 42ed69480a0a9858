import TallyCore

/// A config and the catalogue it names, both validated against each other.
///
/// This is everything `--check-config` checks and everything start-up needs before it makes a
/// thread or binds a socket; a reload builds a new one off to the side and applies it only
/// when it loaded whole.
public struct LoadedConfig: Sendable, Equatable {
    public var config: TallyConfig
    public var catalogue: Catalogue

    /// Loads the catalogue `config` names (or the embedded one) and checks the config's
    /// `drop_labels` against it.
    public init(_ config: TallyConfig) throws {
        let catalogue: Catalogue
        if let path = config.cataloguePath {
            catalogue = try CatalogueLoader.parse(yaml: try FileText.read(path), source: path)
        } else {
            catalogue = CatalogueLoader.embedded()
        }
        if let problem = FamilyTable.problem(dropLabels: config.limits.dropLabels, catalogue: catalogue) {
            throw ConfigError(
                source: config.cataloguePath ?? "<embedded families.yaml>", line: nil, key: "", problem: problem)
        }
        self.config = config
        self.catalogue = catalogue
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
}
