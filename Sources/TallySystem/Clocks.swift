#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Unix time in seconds: what the registry stamps series with and what operators read
/// (`service_start_time`, save timestamps). It can step; never measure an interval with it.
public enum WallClock {
    @inline(__always)
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// How far the wall clock is ahead of `MonotonicClock` right now: what turns a monotonic
    /// stamp into a time to show (the registry's `WallClockOffset`).
    public static func offsetFromMonotonic() -> Double { now() - MonotonicClock.now() }
}

/// Seconds since an arbitrary point, never stepped by NTP or an operator: deadlines, heartbeats,
/// the watchdog and rates are measured with it, so a clock step can neither fire nor starve them.
public enum MonotonicClock {
    @inline(__always)
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// The same clock in microseconds, as systemd's `MONOTONIC_USEC=` wants it.
    public static func microseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }
}
