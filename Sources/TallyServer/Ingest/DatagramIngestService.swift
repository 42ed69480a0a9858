import ServiceLifecycle

/// UDP ingest: the receive loops (`UDPLoop`, a thread per socket) run from the moment they
/// are created. At shutdown a datagram socket cannot refuse new datagrams without closing, so
/// each loop keeps reading until its queue is empty (at most a second, if senders do not
/// stop), and then its sockets close.
struct DatagramIngestService: Service {
    let live: LiveListeners

    func run() async throws {
        await waitForShutdown()
        await live.stopUDP()
    }
}
