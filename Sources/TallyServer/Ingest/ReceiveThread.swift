import NIOPosix
import TallySystem

/// A blocking receive loop on a thread of its own, registered with the watchdog as `part`
/// from its creation until `join` returns. The loop beats through the `tick` it is given (at least
/// every 200 ms: the sockets' receive timeout), so a wedged loop stops the watchdog's pings.
final class ReceiveThread: Sendable {
    let part: String
    private let pool: NIOThreadPool
    private let finished: Task<Void, Never>
    private let liveness: Liveness

    init(part: String, liveness: Liveness, body: @escaping @Sendable (_ tick: () -> Void) -> Void) {
        self.part = part
        self.liveness = liveness
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        self.pool = pool
        liveness.register(part, now: MonotonicClock.now())
        finished = Task {
            try? await pool.runIfActive {
                body { liveness.beat(part, now: MonotonicClock.now()) }
            }
        }
    }

    /// Waits for the loop to return (its socket was asked to stop), then ends the thread.
    func join() async {
        await finished.value
        try? await pool.shutdownGracefully()
        liveness.unregister(part)
    }
}
