import Synchronization
import TallyCore
import TallySystem

/// The latest logged refusal of each reason, for the status page's "one recent example line".
/// Fed from the log path, so it costs at most one lock per reason per second.
final class RecentRejections: Sendable {
    struct Example: Sendable {
        var line: String
        var detail: String
        var transport: String
        var at: Double
    }

    private let latest = Mutex<[RejectReason: Example]>([:])

    func record(_ r: Rejection) {
        let example = Example(line: r.line, detail: r.detail, transport: r.transport, at: WallClock.now())
        latest.withLock { $0[r.reason] = example }
    }

    var all: [RejectReason: Example] { latest.withLock { $0 } }
}
