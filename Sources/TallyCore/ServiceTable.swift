import Synchronization

/// The configured services and their liveness.
///
/// The daemon, not the service, answers Prometheus, so `up` no longer says whether a service
/// is alive; `service_up` does: 0 before the first event, 1 while events keep arriving within
/// `heartbeatTimeout`, held at 0 by an explicit `service_up:0|g` until `service_up:1|g`.
public final class ServiceTable: Sendable {
    public struct Liveness: Sendable, Equatable {
        public var lastSeen: Double?
        public var explicitDown = false
        public var startTime: Double?
        public var startTimeExplicit = false

        func isUp(now: Double, timeout: Double) -> Bool {
            guard !explicitDown, let lastSeen else { return false }
            return now - lastSeen <= timeout
        }
    }

    public let names: [String]
    /// Changeable at runtime (config reload); read once per liveness check.
    public var heartbeatTimeout: Double {
        get { Double(bitPattern: timeoutBits.load(ordering: .relaxed)) }
        set { timeoutBits.store(newValue.bitPattern, ordering: .relaxed) }
    }
    private let timeoutBits: Atomic<UInt64>
    let nameBytes: [[UInt8]]
    /// Every name back to back and where each starts (count + 1 offsets): a lookup compares
    /// lengths, then one memcmp, without touching an array per name.
    private let flatNames: [UInt8]
    private let flatOffsets: [Int]
    /// One lock for all services: it is taken once per packet per service, never per line.
    private let states: Mutex<[Liveness]>

    public init(names: [String], heartbeatTimeout: Double) {
        self.names = names
        timeoutBits = Atomic(heartbeatTimeout.bitPattern)
        nameBytes = names.map { Array($0.utf8) }
        flatNames = nameBytes.flatMap { $0 }
        flatOffsets = nameBytes.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        states = Mutex([Liveness](repeating: Liveness(), count: names.count))
    }

    public var count: Int { names.count }

    public func index(of name: String) -> Int? { names.firstIndex(of: name) }

    /// The service whose name is exactly `bytes`.
    @inline(__always)
    func index(of bytes: UnsafeRawBufferPointer) -> Int? {
        let n = bytes.count
        return flatNames.withUnsafeBytes { flat in
            flatOffsets.withUnsafeBufferPointer { offsets -> Int? in
                for i in 0..<(offsets.count &- 1) where offsets[i &+ 1] &- offsets[i] == n {
                    if n == 0 || ByteHash.equal(flat.baseAddress! + offsets[i], bytes.baseAddress!, count: n) {
                        return i
                    }
                }
                return nil
            }
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
                s.startTime = now
            }
        }
    }
}
