import Logging
import ServiceLifecycle
import TallyCore
import TallySystem

/// Once a second: forgets set members past the set window and expires series past their ttl
/// (each shard lock is taken in turn, briefly).
struct ExpiryService: Service {
    let registry: Registry
    let logger: Logger

    func run() async throws {
        var lastExpiry = MonotonicClock.now()
        while await sleepUnlessShuttingDown(1) {
            // Expiry scans every series: every tenth of the shortest ttl (1 s to 30 s), so a
            // series outlives its ttl by at most 10% and a million series are not scanned
            // every second.
            let monotonic = MonotonicClock.now()
            var expire = false
            if let shortest = registry.limits.shortestTTL {
                expire = monotonic - lastExpiry >= min(max(shortest / 10, 1), 30) - 0.01
            }
            if expire { lastExpiry = monotonic }
            // The wall clock's distance, measured again: a step shows in the times tallyd shows
            // (start times, exemplars) within a second, and in no interval.
            registry.services.wallOffset.set(WallClock.offsetFromMonotonic())
            let expired = registry.sweep(now: MonotonicClock.now(), expire: expire)
            if expired > 0 { logger.debug("expired \(expired) series (ttl)") }
        }
    }
}
