import TallyCore

/// The one-line `STATUS=` systemd shows in `systemctl status tally`: what tallyd is doing,
/// in rates an operator can compare between two looks.
struct StatusLine: Equatable {
    /// Totals at one moment: the rates are differences of two samples.
    struct Sample: Equatable {
        var lines = 0
        var rejected = 0
        /// Monotonic seconds.
        var at = 0.0
    }

    /// Sums the registry's counters of every ingest loop.
    static func sample(_ registry: Registry, at: Double) -> Sample {
        var sample = Sample(at: at)
        for (_, s) in registry.ingestStats() {
            sample.lines += s.lines
            sample.rejected += s.rejectedTotal
        }
        return sample
    }

    /// Right after start: `ready, 12 series, 0 lines so far`.
    static func ready(series: Int, _ now: Sample) -> String {
        "ready, \(series) series, \(now.lines) lines so far"
    }

    /// `1234 lines/s, 5678 series, 2 rejects/s` between two samples.
    static func rates(series: Int, from before: Sample, to now: Sample) -> String {
        let dt = max(now.at - before.at, 0.001)
        let lps = Int((Double(now.lines - before.lines) / dt).rounded())
        let rps = Int((Double(now.rejected - before.rejected) / dt).rounded())
        return "\(lps) lines/s, \(series) series, \(rps) rejects/s"
    }
}
