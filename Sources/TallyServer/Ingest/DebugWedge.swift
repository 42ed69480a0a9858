import Synchronization

/// `/debug/wedge-ingest-loops` (TALLYD_DEBUG_HOOKS=1), for the drop-accounting test: once
/// set, the UDP receive loops stop reading for good and the kernel queues fill up.
final class DebugWedge: Sendable {
    private let flag = Atomic<Bool>(false)

    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}
