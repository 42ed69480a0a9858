import Logging
import Synchronization
import TallyCore
import TallySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The saved state: restored into the registry before any listener is bound, written at
/// stop and every `state_interval` by `StateSaveService`, counted for the admin endpoint.
final class StateStore: Sendable {
    private let place: Mutex<(path: String, interval: Double)>
    private let registry: Registry
    private let logger: Logger
    private let statsValue = Mutex(StateFileStats())

    init(path: String, interval: Double, registry: Registry, logger: Logger) {
        place = Mutex((path, interval))
        self.registry = registry
        self.logger = logger
    }

    /// Where saves go; a reload may move it (the next save writes the new file).
    var path: String { place.withLock { $0.path } }

    /// `state_interval`; a reload may change it.
    var interval: Double { place.withLock { $0.interval } }

    func move(to path: String, interval: Double) { place.withLock { $0 = (path, interval) } }

    /// Saves, failures and the last save, for the admin endpoint.
    var stats: StateFileStats { statsValue.withLock { $0 } }

    /// The series saved by the previous run. A file that cannot be read is moved aside
    /// (`.corrupt`) and tallyd starts empty: losing counters is better than not starting.
    func restore() {
        let path = self.path
        guard access(path, F_OK) == 0 else {
            logger.notice("no saved state at \(path) yet; starting empty")
            return
        }
        Systemd.notify("STATUS=restoring saved state from \(path)")
        do {
            let bytes = try FileText.readBytes(path)
            let summary = try StateSnapshot.restore(bytes, into: registry, now: MonotonicClock.now())
            statsValue.withLock { $0.restored = summary.restored }
            var message = "restored \(summary.restored) series from \(path)"
            let skipped = summary.skippedFamily + summary.skippedService + summary.skippedOther
            if skipped > 0 {
                message +=
                    "; skipped \(summary.skippedFamily) of families whose type/labels/buckets changed, "
                    + "\(summary.skippedService) of services no longer configured, \(summary.skippedOther) "
                    + "refused by limits or damaged"
            }
            logger.notice("\(message)")
        } catch {
            let aside = path + ".corrupt"
            rename(path, aside)
            logger.error("cannot restore the saved state (\(error)); moved it to \(aside) and starting empty")
        }
    }

    /// Writes every series atomically (a crash mid-write keeps the last file). Blocks for as
    /// long as encoding and fsync take: call it from a blocking thread, not the cooperative pool.
    func save(reason: String) {
        let path = self.path
        let started = MonotonicClock.now()
        let bytes = StateSnapshot.encode(registry)
        do {
            try FileText.writeAtomically(bytes, to: path)
            let seconds = MonotonicClock.now() - started
            let finished = WallClock.now()
            statsValue.withLock {
                $0.saves += 1
                $0.lastSaveTime = finished
                $0.lastSaveBytes = bytes.count
                $0.lastSaveSeconds = seconds
            }
            logger.debug("saved state (\(reason)): \(bytes.count) bytes to \(path) in \(Int(seconds * 1000)) ms")
        } catch {
            statsValue.withLock { $0.failures += 1 }
            logger.error("cannot save the state (\(reason)): \(error)")
        }
    }
}
