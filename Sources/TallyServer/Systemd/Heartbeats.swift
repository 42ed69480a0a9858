import Synchronization

/// Heartbeats of every part that must keep moving for the daemon to be alive: each ingest
/// event loop, each Unix receive thread, and the HTTP loop (which also takes every registry
/// shard lock). The watchdog pings systemd only while all of them are fresh, so a wedged loop
/// (not only a crashed process) gets the daemon restarted.
public final class Heartbeats: Sendable {
    private let beats = Mutex<[String: Double]>([:])

    public init() {}

    /// Records that `part` answered at `now`.
    public func beat(_ part: String, now: Double) {
        beats.withLock { $0[part] = now }
    }

    /// Starts watching `part` as if it had just answered.
    public func register(_ part: String, now: Double) { beat(part, now: now) }

    public func unregister(_ part: String) {
        _ = beats.withLock { $0.removeValue(forKey: part) }
    }

    /// Parts whose last answer is older than `maxAge`, with their age, oldest first.
    public func stale(now: Double, maxAge: Double) -> [(part: String, age: Double)] {
        beats.withLock { all in
            all.compactMap { now - $1 > maxAge ? ($0, now - $1) : nil }
        }.sorted { $0.age > $1.age }
    }
}
