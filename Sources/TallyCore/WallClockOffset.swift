import Synchronization

/// How far the wall clock is ahead of the monotonic clock the registry measures with.
///
/// Every interval tallyd keeps (a service's heartbeat, a series' ttl, a set's window) is taken
/// on the monotonic clock, so an NTP step or `date -s` can neither expire every series nor keep
/// a dead service up. The few times that are shown or sent as times (a service's start time,
/// an exemplar's timestamp) are the monotonic time plus this offset, which the expiry service
/// measures again every second: a step shows in them within a second and moves no interval.
public final class WallClockOffset: Sendable {
    private let bits: Atomic<UInt64>

    /// 0 makes wall time and monotonic time one (the registry's tests use plain numbers).
    public init(_ seconds: Double = 0) { bits = Atomic(seconds.bitPattern) }

    public var seconds: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }

    public func set(_ seconds: Double) { bits.store(seconds.bitPattern, ordering: .relaxed) }

    /// The wall-clock time of monotonic time `monotonic`.
    @inline(__always)
    public func wall(_ monotonic: Double) -> Double { monotonic + seconds }
}
