import NIOCore
import ServiceLifecycle
import TallyCore
import TallySystem

/// UDP ingest: the channels fold datagrams on their event loops from the moment they are
/// bound. At shutdown a datagram socket cannot refuse new datagrams without closing, so it
/// keeps reading until the packet counters stop moving (the queue is empty), at most a
/// second, and then closes.
struct DatagramIngestService: Service {
    let live: LiveListeners
    let registry: Registry

    func run() async throws {
        await waitForShutdown()
        var last = totalPackets()
        let deadline = MonotonicClock.now() + 1
        while MonotonicClock.now() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
            let current = totalPackets()
            if current == last { break }
            last = current
        }
        await Binding.closeAll(live.takeUDP())
    }

    private func totalPackets() -> Int {
        registry.ingestStats().reduce(0) { $0 + $1.stats.packets }
    }
}
