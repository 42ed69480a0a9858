import Synchronization

/// The configured services and their liveness.
///
/// The daemon, not the service, answers Prometheus, so `up` no longer says whether a service
/// is alive; `service_up` does: 0 before the first event, 1 while events keep arriving within
/// `heartbeatTimeout`, held at 0 by an explicit `service_up:0|g` until `service_up:1|g`.
public final class ServiceTable: Sendable {
    public struct Liveness: Sendable, Equatable {
        /// Monotonic seconds (the `now` every call here takes): never compared with wall time.
        public var lastSeen: Double?
        public var explicitDown = false
        /// Wall-clock Unix time, for `service_start_time`.
        public var startTime: Double?
        public var startTimeExplicit = false

        func isUp(now: Double, timeout: Double) -> Bool {
            guard !explicitDown, let lastSeen else { return false }
            return now - lastSeen <= timeout
        }
    }

    /// The services by index, as one immutable value: the receive loops keep a copy and take a
    /// fresh one when the registry's generation moves (a reload added or removed a service),
    /// so looking a name up on the hot path takes no lock.
    public struct Names: Sendable {
        /// Every name ever configured in this run, index-aligned with the registry's stores.
        public let all: [String]
        /// False for services a reload removed (their index is kept, their series are gone).
        public let active: [Bool]
        let nameBytes: [[UInt8]]
        /// Every active name back to back and where each starts: a lookup compares lengths,
        /// then one memcmp, without touching an array per name.
        private let flatNames: [UInt8]
        private let flatOffsets: [Int]
        private let flatIndex: [Int]

        init(_ all: [String], active: [Bool]) {
            self.all = all
            self.active = active
            nameBytes = all.map { Array($0.utf8) }
            var flat: [UInt8] = []
            var offsets = [0]
            var index: [Int] = []
            for (i, bytes) in nameBytes.enumerated() where active[i] {
                flat.append(contentsOf: bytes)
                offsets.append(flat.count)
                index.append(i)
            }
            flatNames = flat
            flatOffsets = offsets
            flatIndex = index
        }

        public var count: Int { all.count }

        /// The active service named `name`.
        public func index(of name: String) -> Int? {
            all.indices.first { active[$0] && all[$0] == name }
        }

        /// The active service whose name is exactly `bytes`.
        @inline(__always)
        func index(of bytes: UnsafeRawBufferPointer) -> Int? {
            let n = bytes.count
            return flatNames.withUnsafeBytes { flat in
                flatOffsets.withUnsafeBufferPointer { offsets -> Int? in
                    for i in 0..<(offsets.count &- 1) where offsets[i &+ 1] &- offsets[i] == n {
                        if n == 0 || ByteHash.equal(flat.baseAddress! + offsets[i], bytes.baseAddress!, count: n) {
                            return flatIndex[i]
                        }
                    }
                    return nil
                }
            }
        }
    }

    private let current: Mutex<Names>

    /// Changeable at runtime (config reload); read once per liveness check.
    public var heartbeatTimeout: Double {
        get { Double(bitPattern: timeoutBits.load(ordering: .relaxed)) }
        set { timeoutBits.store(newValue.bitPattern, ordering: .relaxed) }
    }
    private let timeoutBits: Atomic<UInt64>
    /// One lock for all services: it is taken once per packet per service, never per line.
    private let states: Mutex<[Liveness]>
    /// Liveness is kept on the monotonic clock; a start time is shown as wall time.
    public let wallOffset = WallClockOffset()

    public init(names: [String], heartbeatTimeout: Double) {
        current = Mutex(Names(names, active: names.map { _ in true }))
        timeoutBits = Atomic(heartbeatTimeout.bitPattern)
        states = Mutex([Liveness](repeating: Liveness(), count: names.count))
    }

    /// The services now (a copy: a reload may change them).
    public var snapshot: Names { current.withLock { $0 } }

    /// Every name by index (removed services included: check `isActive`).
    public var names: [String] { snapshot.all }

    /// Indices of the services configured now, in index order.
    public var activeIndices: [Int] {
        let s = snapshot
        return s.all.indices.filter { s.active[$0] }
    }

    public func isActive(_ service: Int) -> Bool {
        let s = snapshot
        return service < s.count && s.active[service]
    }

    public var count: Int { snapshot.count }

    public func index(of name: String) -> Int? { snapshot.index(of: name) }

    func index(of bytes: UnsafeRawBufferPointer) -> Int? { snapshot.index(of: bytes) }

    /// Makes `names` the active services: new names get new indices (a name seen before gets
    /// its old one back), missing ones are deactivated. Only `Registry.setServices` calls
    /// this, holding every shard lock. Returns (added indices, removed indices).
    func replace(with names: [String]) -> (added: [Int], removed: [Int]) {
        current.withLock { c in
            var all = c.all
            var active = c.active.map { _ in false }
            var added: [Int] = []
            for name in names {
                if let i = all.firstIndex(of: name) {
                    if !c.active[i] { added.append(i) }
                    active[i] = true
                } else {
                    all.append(name)
                    active.append(true)
                    added.append(all.count - 1)
                }
            }
            let removed = c.all.indices.filter { c.active[$0] && !active[$0] }
            c = Names(all, active: active)
            let count = all.count
            states.withLock { s in
                if s.count < count { s.append(contentsOf: repeatElement(Liveness(), count: count - s.count)) }
                for i in added { s[i] = Liveness() }
            }
            return (added, removed)
        }
    }

    /// Any event from the service: keeps it up, and marks a down→up transition.
    public func touch(_ service: Int, now: Double) {
        update(service, now: now) { $0.lastSeen = now }
    }

    /// An explicit `service_up:<v>|g`.
    public func setExplicit(_ service: Int, up: Bool, now: Double) {
        update(service, now: now) {
            $0.explicitDown = !up
            $0.lastSeen = now
        }
    }

    /// An explicit `service_start_time:<v>|g`: the service's own value wins from then on.
    public func setStartTime(_ service: Int, _ value: Double) {
        states.withLock {
            $0[service].startTime = value
            $0[service].startTimeExplicit = true
        }
    }

    public func liveness(_ service: Int) -> Liveness {
        states.withLock { $0[service] }
    }

    public func isUp(_ service: Int, now: Double) -> Bool {
        let timeout = heartbeatTimeout
        return states.withLock { $0[service].isUp(now: now, timeout: timeout) }
    }

    private func update(_ service: Int, now: Double, _ body: (inout Liveness) -> Void) {
        let timeout = heartbeatTimeout
        states.withLock { all in
            var s = all[service]
            defer { all[service] = s }
            let wasUp = s.isUp(now: now, timeout: timeout)
            body(&s)
            if !wasUp && s.isUp(now: now, timeout: timeout) && !s.startTimeExplicit {
                s.startTime = wallOffset.wall(now)
            }
        }
    }
}
