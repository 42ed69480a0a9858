import ServiceLifecycle
import Synchronization
import TallyCore
import TallySystem

/// Totals every two seconds for five minutes, so the status page can show rates over the last
/// minute and refusals over the last five without the hot path keeping any history.
final class StatusSampler: Sendable {
    struct Sample: Sendable {
        /// Monotonic seconds.
        var at: Double
        var linesByService: [Int]
        var rejectedByService: [Int]
        /// `(service + 1) << 32 | family` → lines.
        var linesByServiceFamily: [Int: Int]
        var rejectedByReason: [Int]
    }

    static let interval = 2.0
    static let keep = 151  // five minutes at two seconds, and the sample that starts it

    private let samples = Mutex<[Sample]>([])
    let registry: Registry

    init(registry: Registry) { self.registry = registry }

    func current() -> Sample {
        var total = IngestStats()
        for (_, s) in registry.ingestStats() { total.merge(s) }
        return Sample(
            at: MonotonicClock.now(), linesByService: total.linesByService,
            rejectedByService: total.rejectedByService, linesByServiceFamily: total.linesByServiceFamily,
            rejectedByReason: total.rejected)
    }

    func take() {
        let s = current()
        samples.withLock { all in
            all.append(s)
            if all.count > Self.keep { all.removeFirst(all.count - Self.keep) }
        }
    }

    /// The oldest kept sample at most `seconds` old (the first one while tallyd is younger).
    func sample(ago seconds: Double, now: Double) -> Sample? {
        samples.withLock { all in all.first { now - $0.at <= seconds + Self.interval / 2 } ?? all.first }
    }
}

/// Takes a `StatusSampler` sample every two seconds until shutdown.
struct StatusSamplerService: Service {
    let sampler: StatusSampler

    func run() async throws {
        sampler.take()
        while await sleepUnlessShuttingDown(StatusSampler.interval) { sampler.take() }
    }
}
