import Synchronization
import TallySystem

/// How the admin endpoint's `POST /-/reload` reaches `ReloadService`, which alone owns the
/// running config: a request waits for the outcome of its reload.
final class ReloadRequests: Sendable {
    /// What a reload did: `ok` with a one-line summary, or the validation error (the running
    /// config stays).
    struct Outcome: Sendable, Equatable {
        var ok: Bool
        var message: String
    }

    struct Request: Sendable {
        let reply: @Sendable (Outcome) -> Void
    }

    let stream: AsyncStream<Request>
    private let continuation: AsyncStream<Request>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Request.self)
    }

    /// Asks for a reload; `reply` is called once it ran (on the reload service's task).
    func submit(_ reply: @escaping @Sendable (Outcome) -> Void) {
        if case .terminated = continuation.yield(Request(reply: reply)) {
            reply(Outcome(ok: false, message: "tallyd is shutting down"))
        }
    }

    func finish() { continuation.finish() }
}

/// Reload outcomes for the admin endpoint and the status page.
final class ReloadStats: Sendable {
    struct Value: Sendable {
        var successes = 0
        var failures = 0
        /// Wall time of the last successful reload (or of the start), for
        /// `tally_config_last_reload_success_timestamp_seconds`.
        var lastSuccess: Double
        var lastSuccessful = true
        var lastAttempt: Double?
        var lastMessage = "running the config it started with"
    }

    private let value: Mutex<Value>

    init(startTime: Double) { value = Mutex(Value(lastSuccess: startTime)) }

    var current: Value { value.withLock { $0 } }

    func record(_ outcome: ReloadRequests.Outcome) {
        let now = WallClock.now()
        value.withLock {
            if outcome.ok {
                $0.successes += 1
                $0.lastSuccess = now
            } else {
                $0.failures += 1
            }
            $0.lastSuccessful = outcome.ok
            $0.lastAttempt = now
            $0.lastMessage = outcome.message
        }
    }
}
