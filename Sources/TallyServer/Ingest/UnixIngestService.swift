import NIOPosix
import ServiceLifecycle
import TallyCore
import TallySystem

/// Unix datagram ingest: one blocking receive loop per socket, each on a thread of its own.
/// At shutdown every loop empties what is still queued, then the sockets close (and their
/// files are removed, unless systemd owns them).
struct UnixIngestService: Service {
    let listeners: [IngestListeners.UnixListener]
    let ingestors: IngestorFactory
    let liveness: Liveness
    let blocking: NIOThreadPool

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for listener in listeners {
                let part = "unix \(listener.receiver.path)"
                liveness.register(part, now: MonotonicClock.now())
                let (ingestors, liveness) = (self.ingestors, self.liveness)
                group.addTask { [blocking] in
                    try? await blocking.runIfActive {
                        listener.receiver.run(ingestors.make(transport: "unix", service: listener.service)) {
                            liveness.beat(part, now: MonotonicClock.now())
                        }
                    }
                }
            }
            await waitForShutdown()
            for listener in listeners { listener.receiver.stop() }
            await group.waitForAll()
        }
        for listener in listeners { listener.receiver.close() }
    }
}
