import NIOPosix
import TallySystem

/// A blocking receive loop on a thread of its own, registered with the watchdog as `part`
/// from its creation until `join` returns. The loop beats through the `tick` it is given (at least
/// every 200 ms: the sockets' receive timeout), so a wedged loop stops the watchdog's pings.
final class ReceiveThread: Sendable {
    let part: String
    private let pool: NIOThreadPool
    private let finished: Task<Void, Never>
    private let heartbeats: Heartbeats

    init(part: String, heartbeats: Heartbeats, body: @escaping @Sendable (_ tick: () -> Void) -> Void) {
        self.part = part
        self.heartbeats = heartbeats
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        self.pool = pool
        heartbeats.register(part, now: MonotonicClock.now())
        finished = Task {
            try? await pool.runIfActive {
                body { heartbeats.beat(part, now: MonotonicClock.now()) }
            }
        }
    }

    /// Waits for the loop to return (its socket was asked to stop), then ends the thread.
    func join() async {
        await finished.value
        try? await pool.shutdownGracefully()
        heartbeats.unregister(part)
    }
}
