import Synchronization

/// All series of all services, split over shards with one lock each, so receive loops on
/// different cores rarely wait for each other and a scrape holds each lock only long enough
/// to take a copy-on-write snapshot.
public final class Registry: @unchecked Sendable {
    // @unchecked: `shardLocks` is an immutable pointer to Mutexes, written only in init and
    // deinit; every access to what they guard goes through the Mutex.

    /// One lock per shard, in one allocation: the hot path reaches a shard's lock with pointer
    /// arithmetic, without retaining a per-shard object for every line.
    let shardLocks: UnsafeMutablePointer<Mutex<[SeriesStore]>>
    let shardCountValue: Int

    public let families: FamilyTable
    public let services: ServiceTable
    /// The limits in force; a config reload swaps them under the cardinality lock.
    public var limits: Limits {
        get { cardinality.withLock { $0.limits } }
        set { cardinality.withLock { $0.limits = newValue } }
    }
    /// Series per (service, family) and per service: touched only when a series is created.
    private let cardinality: Mutex<Cardinality>

    struct Cardinality {
        var limits: Limits
        var perFamily: [[Int]]
        var perService: [Int]
        /// (service, family) pairs whose first refusal was explained already.
        var explained: Set<Int> = []
    }

    /// Why a series could not be created.
    public enum Refusal: Sendable, Equatable {
        case familyLimit(limit: Int)
        case serviceLimit(limit: Int)
    }
    let shardMask: Int
    private let statsCells: Mutex<[IngestStatsCell]>

    public init(families: FamilyTable, services: ServiceTable, limits: Limits = Limits(), shardCount: Int = 16) {
        var n = 1
        while n < max(shardCount, 1) { n <<= 1 }
        self.families = families
        self.services = services
        cardinality = Mutex(Cardinality(limits: limits, perFamily: Array(repeating: [], count: services.count),
                                        perService: Array(repeating: 0, count: services.count)))
        shardLocks = UnsafeMutablePointer<Mutex<[SeriesStore]>>.allocate(capacity: n)
        for i in 0..<n {
            (shardLocks + i).initialize(to: Mutex([SeriesStore](repeating: SeriesStore(), count: services.count)))
        }
        shardCountValue = n
        shardMask = n - 1
        statsCells = Mutex([])
    }

    deinit {
        shardLocks.deinitialize(count: shardCountValue)
        shardLocks.deallocate()
    }

    public var shardCount: Int { shardCountValue }

    /// Runs `body` under the lock of shard `i`.
    @inline(__always)
    func withShard<R>(_ i: Int, _ body: (inout [SeriesStore]) -> R) -> R {
        shardLocks[i].withLock { body(&$0) }
    }

    /// Applies `updates` to the series `key` of `service`: all in one lock acquisition.
    /// Creating the series is subject to the limits; nil when applied.
    @inline(__always)
    func apply(service: Int, family: Int, key: UnsafeRawBufferPointer, hash: UInt64, width: Int,
               _ updates: UnsafeBufferPointer<SampleUpdate>) -> Refusal? {
        return withShard(Int(truncatingIfNeeded: hash >> 40) & shardMask) { stores -> Refusal? in
            var offset = stores[service].find(key, hash: hash)
            if offset == nil {
                if let refusal = admitSeries(service: service, family: family) { return refusal }
                offset = stores[service].insert(key, hash: hash, width: width)
            }
            for u in updates { stores[service].apply(u, at: offset!) }
            return nil
        }
    }

    /// Counts a new series in, or says which limit it would pass.
    private func admitSeries(service: Int, family: Int) -> Refusal? {
        // Rare path (a new series): the family's name decides its limit, read under the lock
        // so a reload's new limits apply to the very next series.
        let name = families.descriptor(family).name
        return cardinality.withLock { c in
            let maxSeries = c.limits.maxSeries(family: name)
            if c.perFamily[service].count <= family {
                c.perFamily[service].append(contentsOf: repeatElement(0, count: family + 1 - c.perFamily[service].count))
            }
            if c.perFamily[service][family] >= maxSeries { return .familyLimit(limit: maxSeries) }
            if c.perService[service] >= c.limits.maxSeriesPerService { return .serviceLimit(limit: c.limits.maxSeriesPerService) }
            c.perFamily[service][family] += 1
            c.perService[service] += 1
            return nil
        }
    }

    /// True the first time for each (service, family): that refusal gets the full explanation.
    func shouldExplain(service: Int, family: Int) -> Bool {
        cardinality.withLock { $0.explained.insert(family &* 1024 &+ service).inserted }
    }

    /// For the first refusal of a family: the label with the most distinct values among the
    /// service's series of that family, and how many (scans that family's series once).
    func busiestLabel(service: Int, family: Int) -> (index: Int, distinct: Int)? {
        var distinct: [Set<[UInt8]>] = []
        for i in 0..<shardCountValue {
            let store = withShard(i) { $0[service] }
            for i in 0..<store.count {
                store.table.withKey(at: i) { key in
                    guard Int(key.loadUnaligned(as: UInt32.self).littleEndian) == family else { return }
                    var label = 0
                    var start = 4
                    for j in 4..<key.count where key[j] == 0 {
                        if distinct.count <= label { distinct.append([]) }
                        distinct[label].insert(Array(key[start..<j]))
                        label += 1
                        start = j + 1
                    }
                }
            }
        }
        guard let best = distinct.indices.max(by: { distinct[$0].count < distinct[$1].count }) else { return nil }
        return (best, distinct[best].count)
    }

    /// A consistent-per-shard copy of one service's series (shared copy-on-write: the lock is
    /// held for a reference copy, and a writer that touches the shard next pays for the copy).
    public func snapshot(service: Int) -> [SeriesStore] {
        (0..<shardCountValue).map { i in withShard(i) { $0[service] } }
    }

    /// Number of series per service.
    public func seriesCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: services.count)
        for i in 0..<shardCountValue {
            withShard(i) { stores in
                for (i, s) in stores.enumerated() { counts[i] += s.count }
            }
        }
        return counts
    }

    public func allocatedBytes() -> Int {
        (0..<shardCountValue).reduce(0) { acc, i in acc + withShard(i) { $0.reduce(0) { $0 + $1.allocatedBytes } } }
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
