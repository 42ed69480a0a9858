import CTallyCPU
import Synchronization

/// All series of all services, split over shards with one lock each, so receive loops on
/// different cores rarely wait for each other and a scrape holds each lock only long enough
/// to take a copy-on-write snapshot.
///
/// Lock order, the one place it is stated: shard locks are taken one at a time, or all of
/// them in index order (`withEveryShard`: the catalogue swap). Under a shard lock only two
/// other locks are ever taken, each released before the next: the `FamilyTable`'s (a new
/// series reads its family's name) and then `cardinality` (it counts itself in). No code
/// takes a shard lock while holding either of them.
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
        set {
            cardinality.withLock { $0.limits = newValue }
            setMaxValues.store(newValue.setMaxValues, ordering: .relaxed)
        }
    }
    /// Read under a shard lock for every set member: an atomic, not the cardinality lock.
    private let setMaxValues: Atomic<Int>
    /// Wall-clock time stamps count from (series stamps are tenths of a second since then).
    public let epoch: Double
    private let expiredTotal = Atomic<Int>(0)
    /// Series per (service, family) and per service: touched only when a series is created.
    let cardinality: Mutex<Cardinality>

    struct Cardinality {
        var limits: Limits
        var perFamily: [[Int]]
        var perService: [Int]
        /// (service, family) pairs whose first refusal was explained already.
        var explained: Set<Int> = []
        /// New series refused by a limit, by (service, family).
        var limited: [Int: Int] = [:]
    }

    /// Why a line's updates were not (all) applied.
    public enum Refusal: Sendable, Equatable {
        /// The series could not be created: its family's limit for the service.
        case familyLimit(limit: Int)
        /// The series could not be created: the service's limit.
        case serviceLimit(limit: Int)
        /// The catalogue was swapped since the line was resolved: resolve it again.
        case stale
        /// A set member did not fit (the others were applied).
        case setOverflow(limit: Int)
    }
    let shardMask: Int
    /// Per shard and service (the first `hintedServices`): the address and mask of the key
    /// table's slot array, published under the shard lock and read without it, so a receive
    /// loop can prefetch a line's slot while it parses the next line. A stale hint costs one
    /// useless prefetch, nothing more: it is never read through.
    private let slotHints: UnsafeMutablePointer<UInt>
    static let hintedServices = 64
    private let statsCells: Mutex<[IngestStatsCell]>

    /// What a reload may change about how lines are read; nil until the daemon sets it (the
    /// ingestors' own init values stand).
    public struct IngestSettings: Sendable, Equatable {
        public var defaultService: String?
        public var maxLineLength: Int
        public var dropClientTelemetry: Bool

        public init(defaultService: String?, maxLineLength: Int, dropClientTelemetry: Bool) {
            self.defaultService = defaultService
            self.maxLineLength = maxLineLength
            self.dropClientTelemetry = dropClientTelemetry
        }
    }

    let ingestSettingsValue = Mutex<IngestSettings?>(nil)

    /// Series a reload removed: of services no longer configured, of families whose layout
    /// changed (or that left the catalogue).
    let removedByServiceChange = Atomic<Int>(0)
    let removedByCatalogueChange = Atomic<Int>(0)

    public var seriesRemoved: (serviceRemoved: Int, catalogueChanged: Int) {
        (removedByServiceChange.load(ordering: .relaxed), removedByCatalogueChange.load(ordering: .relaxed))
    }

    /// Read by each receive loop when the generation moves, not per line.
    public var ingestSettings: IngestSettings? { ingestSettingsValue.withLock { $0 } }

    public init(
        families: FamilyTable, services: ServiceTable, limits: Limits = Limits(), shardCount: Int = 16,
        epoch: Double = 0
    ) {
        self.epoch = epoch
        setMaxValues = Atomic(limits.setMaxValues)
        var n = 1
        while n < max(shardCount, 1) { n <<= 1 }
        self.families = families
        self.services = services
        cardinality = Mutex(
            Cardinality(
                limits: limits, perFamily: Array(repeating: [], count: services.count),
                perService: Array(repeating: 0, count: services.count)))
        shardLocks = UnsafeMutablePointer<Mutex<[SeriesStore]>>.allocate(capacity: n)
        for i in 0..<n {
            (shardLocks + i).initialize(to: Mutex([SeriesStore](repeating: SeriesStore(), count: services.count)))
        }
        shardCountValue = n
        shardMask = n - 1
        slotHints = .allocate(capacity: n * Self.hintedServices * 2)
        slotHints.initialize(repeating: 0, count: n * Self.hintedServices * 2)
        statsCells = Mutex([])
    }

    deinit {
        shardLocks.deinitialize(count: shardCountValue)
        shardLocks.deallocate()
        slotHints.deallocate()
    }

    public var shardCount: Int { shardCountValue }

    /// The shard that holds the series with key hash `hash`.
    @inline(__always)
    func shard(of hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> 40) & shardMask }

    /// The two words of `slotHints` for `service`'s table in `shard`: address, then mask.
    @inline(__always)
    private func slotHint(shard: Int, service: Int) -> UnsafeMutablePointer<UInt> {
        slotHints + (shard &* Self.hintedServices &+ service) &* 2
    }

    /// Runs `body` under the lock of shard `i`.
    @inline(__always)
    func withShard<R>(_ i: Int, _ body: (inout [SeriesStore]) -> R) -> R {
        shardLocks[i].withLock { body(&$0) }
    }

    /// The stamp of wall-clock time `now`: tenths of a second since `epoch` (13 years fit).
    @inline(__always)
    public func stamp(_ now: Double) -> UInt32 {
        let t = (now - epoch) * 10
        return t <= 0 ? 0 : t >= Double(UInt32.max) ? UInt32.max : UInt32(t)
    }

    /// Applies `updates` to the series `key` of `service`: all in one lock acquisition.
    /// Creating the series is subject to the limits; nil when applied. `generation` is the
    /// family table's generation the key was built in: a swap since then means `.stale`.
    /// `hint`: see `SeriesHint` (read and set under the lock).
    @inline(__always)
    func apply(
        service: Int, family: Int, key: UnsafeRawBufferPointer, hash: UInt64, width: Int,
        generation: Int, stamp: UInt32, _ updates: UnsafeBufferPointer<SampleUpdate>,
        hint: inout SeriesHint
    ) -> Refusal? {
        let shard = self.shard(of: hash)
        return withShard(shard) { stores -> Refusal? in
            // The generation only changes while every shard lock is held: reading it under one is exact.
            guard families.generation == generation else { return .stale }
            return stores.withUnsafeMutableBufferPointer { stores in
                let refusal = stores[service].fold(
                    key, hash: hash, width: width, stamp: stamp, updates,
                    setMax: setMaxValues.load(ordering: .relaxed), hint: &hint
                ) {
                    admitSeries(service: service, family: family)
                }
                if service < Self.hintedServices {
                    let slots = stores[service].table.slotHint
                    let at = slotHint(shard: shard, service: service)
                    if tally_load_relaxed(at) != slots.address {
                        tally_store_relaxed(at + 1, UInt(slots.mask))
                        tally_store_relaxed(at, slots.address)
                    }
                }
                return refusal
            }
        }
    }

    /// Slot arrays at least this large (masks at least this) are worth a prefetch: 8192
    /// slots hold 2048 to 4096 series, and a smaller table stays in the cache anyway.
    static let prefetchedMask = 8191

    /// Starts loading the slot that `apply` will probe first for `hash` in `service`'s table,
    /// without taking the shard lock (see `slotHints`), if that table is large enough for the
    /// slot to be a cache miss; false (and nothing done) if it is not.
    @inline(__always)
    func prefetchSlot(service: Int, hash: UInt64) -> Bool {
        guard service < Self.hintedServices else { return false }
        let at = slotHint(shard: shard(of: hash), service: service)
        let mask = Int(bitPattern: tally_load_relaxed(at + 1))
        guard mask >= Self.prefetchedMask else { return false }
        let address = tally_load_relaxed(at)
        let slot = UInt(bitPattern: Int(truncatingIfNeeded: hash) & mask)
        tally_prefetch(UnsafeRawPointer(bitPattern: address &+ slot &* 4))
        return true
    }

    /// The second step after `prefetchSlot`, once that slot has had time to arrive: under the
    /// shard lock (the slot is read, not only hinted at), starts loading the entry it points
    /// to, so that `apply` later finds both in the cache.
    @inline(__always)
    func prefetchEntry(service: Int, hash: UInt64) {
        withStore(service: service, hash: hash) { $0.table.prefetchEntry(hash: hash) }
    }

    /// The third step: the entry is here; starts loading the key bytes and the values.
    @inline(__always)
    func prefetchKey(service: Int, hash: UInt64) {
        withStore(service: service, hash: hash) { $0.prefetchKey(hash: hash) }
    }

    /// Runs `body` on `service`'s store in `hash`'s shard, under the shard lock and in place:
    /// through the buffer, as `stores[service]` on the array would copy the store out (a
    /// retain and a release of each of its arrays).
    @inline(__always)
    private func withStore(service: Int, hash: UInt64, _ body: (inout SeriesStore) -> Void) {
        withShard(shard(of: hash)) { stores in
            stores.withUnsafeMutableBufferPointer { stores in
                guard service < stores.count else { return }
                body(&stores[service])
            }
        }
    }

    /// Keeps `exemplar` on the series `key` of `service` (just folded) for `update`'s slot;
    /// false if the series is gone (expired or removed in between).
    func keepExemplar(
        _ exemplar: ExemplarInput, service: Int, key: UnsafeRawBufferPointer, hash: UInt64, update: SampleUpdate
    ) -> Bool {
        withShard(shard(of: hash)) { stores in
            guard service < stores.count, let index = stores[service].find(key, hash: hash) else { return false }
            return stores[service].keep(exemplar, offset: stores[service].offset(at: index), update)
        }
    }

    /// Runs `body` holding every shard lock (taken in order), then `after(i)` for each shard
    /// while its lock (and those before it) is still held.
    func withEveryShard(from i: Int = 0, _ body: () -> Void, after: (Int, inout [SeriesStore]) -> Void) {
        guard i < shardCountValue else {
            body()
            return
        }
        withShard(i) { stores in
            withEveryShard(from: i + 1, body, after: after)
            after(i, &stores)
        }
    }

    /// Forgets set members older than the set window and (with `expire`) removes series not
    /// updated within their family's TTL. Takes each shard lock in turn. Returns the series
    /// removed.
    @discardableResult
    public func sweep(now: Double, expire: Bool = true) -> Int {
        let limits = self.limits
        let current = stamp(now)
        let descriptors = families.snapshot()
        // Per family id: the oldest stamp that survives, 0 = never expires.
        let oldest: [UInt32] = descriptors.map { d in
            let ttl = limits.ttl(family: d.name)
            guard ttl > 0 else { return 0 }
            let t = UInt32(min(ttl * 10, Double(UInt32.max)))
            return current > t ? current - t : 0
        }
        let expires = expire && oldest.contains { $0 > 0 }
        let window = UInt32(min(limits.setWindow * 10, Double(UInt32.max)))
        let oldestMember = current > window ? current - window : 0
        var removed = 0
        for i in 0..<shardCountValue {
            withShard(i) { stores in
                for service in stores.indices {
                    stores[service].pruneSets(oldest: oldestMember)
                    guard expires, stores[service].count > 0 else { continue }
                    removed += removeSeries(&stores[service], service: service) { family, stamp in
                        let limit = family < oldest.count ? oldest[family] : 0
                        return limit > 0 && stamp < limit
                    }
                }
            }
        }
        if removed > 0 { expiredTotal.add(removed, ordering: .relaxed) }
        return removed
    }

    /// Series removed by expiry since start.
    public var expiredSeries: Int { expiredTotal.load(ordering: .relaxed) }

    /// Removes the series of one service's store for which `predicate(family, stamp)` holds,
    /// and gives their places back to the limits; how many went.
    func removeSeries(_ store: inout SeriesStore, service: Int, where predicate: (Int, UInt32) -> Bool) -> Int {
        let gone = store.remove(where: predicate)
        guard !gone.isEmpty else { return 0 }
        cardinality.withLock { c in
            for family in gone where family < c.perFamily[service].count {
                c.perFamily[service][family] -= 1
            }
            c.perService[service] -= gone.count
        }
        return gone.count
    }

    /// Creates one series from a saved state with its values (nil-free `values` of the
    /// family's width); false if it exists already or a limit refuses it.
    func restoreSeries(service: Int, family: Int, key: [UInt8], values: [Double], stamp: UInt32) -> Bool {
        key.withUnsafeBytes { k in
            let hash = ByteHash.hash(k)
            return withShard(shard(of: hash)) { stores -> Bool in
                guard stores[service].find(k, hash: hash) == nil, admitSeries(service: service, family: family) == nil
                else { return false }
                let index = stores[service].insert(k, hash: hash, width: values.count)
                stores[service].setStamp(stamp, at: index)
                let offset = stores[service].offset(at: index)
                for (j, v) in values.enumerated() { stores[service].values[offset + j] = v }
                return true
            }
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
                c.perFamily[service].append(
                    contentsOf: repeatElement(0, count: family + 1 - c.perFamily[service].count))
            }
            if c.perFamily[service][family] >= maxSeries {
                c.limited[service << 32 | family, default: 0] += 1
                return .familyLimit(limit: maxSeries)
            }
            if c.perService[service] >= c.limits.maxSeriesPerService {
                c.limited[service << 32 | family, default: 0] += 1
                return .serviceLimit(limit: c.limits.maxSeriesPerService)
            }
            c.perFamily[service][family] += 1
            c.perService[service] += 1
            return nil
        }
    }

    /// Series of `service` by family id, from the counters the limits keep (no scan).
    public func familySeriesCounts(service: Int) -> [Int] {
        cardinality.withLock { c in service < c.perFamily.count ? c.perFamily[service] : [] }
    }

    /// The per-family limit of `family` as it applies now.
    public func maxSeries(family name: String) -> Int { limits.maxSeries(family: name) }

    /// New series refused by a cardinality limit, by service and family id.
    public func cardinalityLimited() -> [(service: Int, family: Int, count: Int)] {
        cardinality.withLock { c in
            c.limited.map { (service: $0.key >> 32, family: $0.key & 0xFFFF_FFFF, count: $0.value) }
        }.sorted { ($0.service, $0.family) < ($1.service, $1.family) }
    }

    /// True the first time for each (service, family): that refusal gets the full explanation.
    func shouldExplain(service: Int, family: Int) -> Bool {
        cardinality.withLock { $0.explained.insert(family &* 1024 &+ service).inserted }
    }

    /// For the first refusal of a family: the label with the most distinct values among the
    /// service's series of that family, and how many (scans that family's series once).
    func busiestLabel(service: Int, family: Int) -> (label: String?, index: Int, distinct: Int)? {
        // Documented families by position; undocumented ones by the name each field carries.
        var distinct: [String: (index: Int, values: Set<[UInt8]>)] = [:]
        for i in 0..<shardCountValue {
            let store = withShard(i) { $0[service] }
            for i in 0..<store.count {
                store.table.withKey(at: i) { key in
                    guard SeriesKey.family(of: key) == family else { return }
                    SeriesKey.forEachLabel(of: key) { index, name, value in
                        let slot = name.map { "=" + String(decoding: $0, as: UTF8.self) } ?? "#\(index)"
                        distinct[slot, default: (index, [])].values.insert(Array(value))
                    }
                }
            }
        }
        guard let best = distinct.max(by: { ($0.value.values.count, $1.key) < ($1.value.values.count, $0.key) }) else {
            return nil
        }
        let name = best.key.hasPrefix("=") ? String(best.key.dropFirst()) : nil
        return (name, best.value.index, best.value.values.count)
    }

    /// A consistent-per-shard copy of one service's series (shared copy-on-write: the lock is
    /// held for a reference copy, and a writer that touches the shard next pays for the copy),
    /// with the families they belong to: read after the shards, so every family id in them is
    /// known, and retried if a catalogue swap came in between.
    public func snapshot(service: Int) -> (families: [FamilyDescriptor], stores: [SeriesStore]) {
        while true {
            let generation = families.generation
            let stores = (0..<shardCountValue).map { i in withShard(i) { $0[service] } }
            let descriptors = families.snapshot()
            if families.generation == generation { return (descriptors, stores) }
        }
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

    /// Number of set (`|s`) series, all services.
    public func setSeriesCount() -> Int {
        (0..<shardCountValue).reduce(0) { acc, i in acc + withShard(i) { $0.reduce(0) { $0 + $1.sets.count } } }
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
            if merged[cell.transport] == nil {
                order.append(cell.transport)
                merged[cell.transport] = IngestStats()
            }
            merged[cell.transport]!.merge(s)
        }
        return order.map { ($0, merged[$0]!) }
    }
}
