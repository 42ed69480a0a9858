import TallyCore

/// One Unix datagram socket's receive loop, on a thread of its own, from `start` until `stop`
/// has emptied the queue, closed the socket and ended the thread. Started at startup for the
/// configured sockets and by a reload for added ones.
final class UnixLoop: Sendable {
    let listener: IngestListeners.UnixListener
    private let thread: ReceiveThread

    init(_ listener: IngestListeners.UnixListener, ingestors: IngestorFactory, heartbeats: Heartbeats) {
        self.listener = listener
        thread = ReceiveThread(part: "unix \(listener.receiver.path)", heartbeats: heartbeats) { tick in
            let services = ingestors.registry.services
            let service = listener.socket?.service.flatMap { services.index(of: $0) }
            // A peer-identity socket's maps, resolved to services now (like `service`).
            let senders = listener.socket?.peerIdentity.map { identity in
                UnixDatagramReceiver.Senders(
                    uids: identity.uids.compactMapValues { services.index(of: $0) },
                    gids: identity.gids.compactMapValues { services.index(of: $0) })
            }
            listener.receiver.run(
                ingestors.make(transport: "unix", service: service), senders: senders, tick: tick)
        }
    }

    var path: String { listener.receiver.path }

    /// Empties what is queued (within 200 ms of the request), then closes the socket (its file
    /// is removed unless systemd owns it) and ends the thread.
    func stop(unlinking: Bool = true) async {
        listener.receiver.stop()
        await thread.join()
        listener.receiver.close(unlinking: unlinking)
    }
}
