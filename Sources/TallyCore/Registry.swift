import Synchronization

/// All series of all services, split over shards with one lock each, so receive loops on
/// different cores rarely wait for each other and a scrape holds each lock only long enough
/// to take a copy-on-write snapshot.
public final class Registry: Sendable {
    final class Shard: Sendable {
        let state: Mutex<[SeriesStore]>
        init(services: Int) { state = Mutex([SeriesStore](repeating: SeriesStore(), count: services)) }
    }

    public let families: FamilyTable
    public let services: ServiceTable
    let shards: [Shard]
    let shardMask: Int
    private let statsCells: Mutex<[IngestStatsCell]>

    public init(families: FamilyTable, services: ServiceTable, shardCount: Int = 16) {
        var n = 1
        while n < max(shardCount, 1) { n <<= 1 }
        self.families = families
        self.services = services
        shards = (0..<n).map { _ in Shard(services: services.count) }
        shardMask = n - 1
        statsCells = Mutex([])
    }

    public var shardCount: Int { shards.count }

    /// Applies `updates` to the series `key` of `service`: all in one lock acquisition.
    @inline(__always)
    func apply(service: Int, key: UnsafeRawBufferPointer, hash: UInt64, width: Int, _ updates: UnsafeBufferPointer<SampleUpdate>) {
        let shard = shards[Int(truncatingIfNeeded: hash >> 40) & shardMask]
        shard.state.withLock { stores in
            let offset = stores[service].series(key, hash: hash, width: width)
            for u in updates { stores[service].apply(u, at: offset) }
        }
    }

    /// A consistent-per-shard copy of one service's series (shared copy-on-write: the lock is
    /// held for a reference copy, and a writer that touches the shard next pays for the copy).
    public func snapshot(service: Int) -> [SeriesStore] {
        shards.map { shard in shard.state.withLock { $0[service] } }
    }

    /// Number of series per service.
    public func seriesCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: services.count)
        for shard in shards {
            shard.state.withLock { stores in
                for (i, s) in stores.enumerated() { counts[i] += s.count }
            }
        }
        return counts
    }

    public func allocatedBytes() -> Int {
        shards.reduce(0) { acc, shard in acc + shard.state.withLock { $0.reduce(0) { $0 + $1.allocatedBytes } } }
    }

    // MARK: stats

    func register(_ cell: IngestStatsCell) {
        statsCells.withLock { $0.append(cell) }
    }

    /// Every ingest path's counters, keyed by transport, summed per transport.
    public func ingestStats() -> [(transport: String, stats: IngestStats)] {
        let cells = statsCells.withLock { $0 }
        var merged: [String: IngestStats] = [:]
        var order: [String] = []
        for cell in cells {
            let s = cell.read()
            if merged[cell.transport] == nil { order.append(cell.transport); merged[cell.transport] = IngestStats() }
            merged[cell.transport]!.merge(s)
        }
        return order.map { ($0, merged[$0]!) }
    }
}
