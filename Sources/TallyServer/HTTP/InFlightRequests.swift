import Synchronization
import TallySystem

/// Responses being written; shutdown waits for them so no scrape is cut off.
final class InFlightRequests: Sendable {
    private let count = Atomic<Int>(0)

    func begin() { count.add(1, ordering: .relaxed) }
    func end() { count.subtract(1, ordering: .relaxed) }

    var current: Int { count.load(ordering: .relaxed) }

    /// Returns once no response is being written, or after `timeout` seconds.
    func waitUntilIdle(timeout: Double) async {
        let deadline = MonotonicClock.now() + timeout
        while current > 0 && MonotonicClock.now() < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}
