import NIOPosix
import ServiceLifecycle
import TallySystem

/// Saves the state every `state_interval`, so a crash or a watchdog kill loses at most that
/// much, and once more at shutdown. First in the service list, so it is the last to stop:
/// the final save sees every line the ingest services drained.
struct StateSaveService: Service {
    let store: StateStore
    /// Encoding a million series and fsync take a while: never on the cooperative pool, where
    /// the watchdog's supervision runs.
    let blocking: NIOThreadPool

    func run() async throws {
        var lastSave = MonotonicClock.now()
        while await sleepUnlessShuttingDown(min(1, store.interval)) {
            guard MonotonicClock.now() - lastSave >= store.interval else { continue }
            await save(reason: "periodic")
            lastSave = MonotonicClock.now()
        }
        await save(reason: "stop")
    }

    private func save(reason: String) async {
        let store = self.store
        try? await blocking.runIfActive { store.save(reason: reason) }
    }
}
