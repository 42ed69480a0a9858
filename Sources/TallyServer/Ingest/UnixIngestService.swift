import ServiceLifecycle

/// Unix datagram ingest: the receive loops (`UnixLoop`, one thread each) run from the moment
/// they are created; at shutdown every loop empties its queue and its socket closes (its file
/// removed unless systemd owns it).
struct UnixIngestService: Service {
    let live: LiveListeners

    func run() async throws {
        await waitForShutdown()
        await live.stopUnix()
    }
}
