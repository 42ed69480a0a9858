import NIOCore
import ServiceLifecycle

/// TCP ingest: connections are served on the ingest loops from the moment the servers are
/// bound; at shutdown the servers stop accepting. Open connections keep being read until
/// their event loops shut down after the group.
struct TCPIngestService: Service {
    let live: LiveListeners

    func run() async throws {
        await waitForShutdown()
        await Binding.closeAll(live.takeTCP())
    }
}
