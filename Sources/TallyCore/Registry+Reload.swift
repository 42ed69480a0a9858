import Synchronization

/// What a config reload changes in the registry, each atomically with respect to ingest (every
/// shard lock held, the generation moved so lines resolved before are resolved again): the
/// catalogue, the services, the ingest settings.
extension Registry {
    /// Swaps in a new catalogue atomically: every shard lock is held while the family table
    /// changes, so no line resolved against the old one lands after; series whose family
    /// changed layout (labels, type, buckets, drop_labels) or left the catalogue are removed.
    /// Returns how many series were removed.
    @discardableResult
    public func replaceCatalogue(_ catalogue: Catalogue, dropLabels: [String: [String]], defaultBuckets: [Double])
        -> Int
    {
        var purge = Set<Int>()
        var removed = 0
        withEveryShard(
            {
                purge = Set(
                    families.replace(catalogue: catalogue, dropLabels: dropLabels, defaultBuckets: defaultBuckets))
            },
            after: { _, stores in
                guard !purge.isEmpty else { return }
                for service in stores.indices {
                    removed += removeSeries(&stores[service], service: service) { family, _ in purge.contains(family) }
                }
            })
        removedByCatalogueChange.add(removed, ordering: .relaxed)
        return removed
    }

    /// New ingest settings: every loop picks them up with its next packet.
    public func setIngestSettings(_ settings: IngestSettings) {
        withEveryShard(
            {
                ingestSettingsValue.withLock { $0 = settings }
                families.bumpGeneration()
            }, after: { _, _ in })
    }

    /// Makes `names` the configured services, atomically for ingest: under every shard lock a
    /// new service gets its (empty) stores, a removed one loses its series, and the generation
    /// moves, so a line resolved against the old services is resolved again. Returns the
    /// services added and, for each removed one, how many series it lost.
    @discardableResult
    public func setServices(_ names: [String]) -> (added: [String], removed: [(name: String, series: Int)]) {
        var added: [Int] = []
        var removed: [Int] = []
        var lost: [Int: Int] = [:]
        withEveryShard(
            {
                (added, removed) = services.replace(with: names)
                let count = services.count
                cardinality.withLock { c in
                    if c.perService.count < count {
                        c.perService.append(contentsOf: repeatElement(0, count: count - c.perService.count))
                        c.perFamily.append(contentsOf: repeatElement([], count: count - c.perFamily.count))
                    }
                }
                families.bumpGeneration()
            },
            after: { _, stores in
                let count = services.count
                if stores.count < count {
                    stores.append(contentsOf: repeatElement(SeriesStore(), count: count - stores.count))
                }
                for service in removed {
                    lost[service, default: 0] += removeSeries(&stores[service], service: service) { _, _ in true }
                }
            })
        let all = services.names
        removedByServiceChange.add(lost.values.reduce(0, +), ordering: .relaxed)
        return (added.map { all[$0] }, removed.map { (all[$0], lost[$0] ?? 0) })
    }
}
