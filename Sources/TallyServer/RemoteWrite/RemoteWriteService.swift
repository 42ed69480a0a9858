import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TallyCore

/// Every `remote_write` endpoint's sender, each in a task of its own. A reload hands it the new
/// list: senders whose entry did not change keep their queue, changed and removed ones stop
/// (their queue is dropped, counted), new ones start. On SIGTERM each sends one last interval
/// within its flush timeout, then the service returns.
final class RemoteWriteService: Service, Sendable {
    struct Running: Sendable {
        let sender: RemoteWriteSender
        let task: Task<Void, Never>
    }

    private let registry: Registry
    private let group: any EventLoopGroup
    private let logger: Logger
    private let running = Mutex<[Running]>([])
    private let updates: AsyncStream<[RemoteWriteTarget]>
    private let continuation: AsyncStream<[RemoteWriteTarget]>.Continuation

    private let initial: [RemoteWriteTarget]

    /// Nothing is sent before `run`: the daemon is bound and its state restored by then.
    init(targets: [RemoteWriteTarget], registry: Registry, group: any EventLoopGroup, logger: Logger) {
        self.registry = registry
        self.group = group
        self.logger = logger
        initial = targets
        (updates, continuation) = AsyncStream.makeStream()
    }

    /// Every sender's stats, in config order (for `/metrics` and the status report).
    var stats: [RemoteWriteStats] { running.withLock { $0.map(\.sender.stats) } }

    /// A reload's new list (applied by the service's task).
    func update(_ targets: [RemoteWriteTarget]) { continuation.yield(targets) }

    private func apply(_ targets: [RemoteWriteTarget]) {
        let (stopped, started) = running.withLock { list -> ([Running], [Running]) in
            var keep: [Running] = []
            var stop: [Running] = []
            for r in list {
                if targets.contains(r.sender.target) { keep.append(r) } else { stop.append(r) }
            }
            var new: [Running] = []
            for t in targets where !keep.contains(where: { $0.sender.target == t }) {
                do {
                    let sender = try RemoteWriteSender(target: t, registry: registry, group: group, logger: logger)
                    new.append(Running(sender: sender, task: Task { await sender.run() }))
                } catch {
                    logger.error("remote write \(t.endpoint.url): cannot start: \(error)")
                }
            }
            // In config order.
            list = targets.compactMap { t in (keep + new).first { $0.sender.target == t } }
            return (stop, new)
        }
        for r in stopped {
            r.task.cancel()
            logger.notice("remote write \(r.sender.target.endpoint.url): stopped (removed or changed by a reload)")
        }
        for r in started {
            let e = r.sender.target.endpoint
            let services = e.services?.joined(separator: ", ") ?? "all services"
            logger.notice("remote write \(e.url): every \(e.interval)s, \(services)")
        }
    }

    func run() async throws {
        apply(initial)
        await withGracefulShutdownHandler {
            for await targets in updates { apply(targets) }
        } onGracefulShutdown: { [continuation] in
            continuation.finish()
        }
        let all = running.withLock { $0 }
        for r in all { r.sender.stop() }
        for r in all { await r.task.value }
    }
}
