import TallyCore

/// One UDP address's receive loops: a thread per socket of the group (SO_REUSEPORT siblings,
/// or the one socket systemd passed), each folding with an ingestor of its own. Started at
/// startup for the configured addresses and by a reload for added ones.
final class UDPLoop: Sendable {
    let group: IngestListeners.UDPGroup
    private let threads: [ReceiveThread]

    init(_ group: IngestListeners.UDPGroup, ingestors: IngestorFactory, heartbeats: Heartbeats, wedge: DebugWedge) {
        self.group = group
        threads = group.receivers.enumerated().map { i, receiver in
            ReceiveThread(part: "udp \(group.port) loop \(i)", heartbeats: heartbeats) { tick in
                receiver.run(ingestors.make(transport: "udp"), wedge: wedge, tick: tick)
            }
        }
    }

    /// Empties what is queued (each loop at most a second, if senders do not stop), then
    /// closes the sockets and ends the threads.
    func stop() async {
        for receiver in group.receivers { receiver.stop() }
        for thread in threads { await thread.join() }
        for receiver in group.receivers { receiver.close() }
    }
}
