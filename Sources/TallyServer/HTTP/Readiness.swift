import Synchronization

/// What `/-/ready` answers: 503 until every listener is bound and the saved state restored,
/// 200 while serving, 503 again from the moment shutdown begins (so a load balancer or a
/// Prometheus service discovery stops sending before the listeners close).
final class Readiness: Sendable {
    enum State: UInt8 {
        case starting = 0
        case ready = 1
        case stopping = 2
    }

    private let value = Atomic<UInt8>(State.starting.rawValue)

    var state: State { State(rawValue: value.load(ordering: .acquiring)) ?? .starting }

    func ready() {
        // Never back from stopping.
        _ = value.compareExchange(
            expected: State.starting.rawValue, desired: State.ready.rawValue, ordering: .acquiringAndReleasing)
    }

    func stopping() { value.store(State.stopping.rawValue, ordering: .releasing) }
}
