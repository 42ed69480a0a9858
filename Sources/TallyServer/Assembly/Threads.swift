import CTallyNet
import NIOCore
import NIOPosix

/// Every thread tallyd runs, created in one place once the config is valid, and shut down in
/// one place when the daemon returns.
///
/// - `ingest`: one event loop per core; TCP connections and heartbeats run there. (UDP and
///   Unix datagram sockets each have a receive thread of their own: `ReceiveThread`.)
/// - `http`: one event loop for every /metrics endpoint and the admin endpoint, so a slow
///   scrape never delays ingest. It runs at a lower priority (nice +5): on a host whose cores
///   are all busy, rendering a large endpoint yields to the ingest loops instead of letting
///   the socket queues overflow.
/// - `blocking`: work that must not run on the cooperative pool (encoding and fsyncing the
///   saved state).
/// - `security`: one thread for bcrypt (basic auth), slow on purpose, never on the HTTP loop.
/// - `remoteWrite`: one event loop for remote-write requests: a slow receiver waits there. It
///   runs at nice +5 too.
public struct Threads: Sendable {
    /// How much lower than ingest the scrape and remote-write threads run (see above).
    static let backgroundNice: Int32 = 5
    public let ingest: MultiThreadedEventLoopGroup
    /// The ingest group's loops, in a fixed order: TCP ingestors are made per loop, and their
    /// count is the default number of UDP receive loops per address.
    public let ingestLoops: [any EventLoop]
    public let http: MultiThreadedEventLoopGroup
    public let blocking: NIOThreadPool
    public let security: NIOThreadPool
    public let remoteWrite: MultiThreadedEventLoopGroup

    /// Runs `body` with fresh threads and shuts every one of them down afterwards, whether
    /// `body` returned or threw: the async form of `defer`.
    public static func with<T: Sendable>(
        ingestThreads: Int, blockingThreads: Int, _ body: (Threads) async throws -> T
    ) async throws -> T {
        let ingest = MultiThreadedEventLoopGroup(numberOfThreads: max(1, ingestThreads))
        let http = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let blocking = NIOThreadPool(numberOfThreads: max(1, blockingThreads))
        blocking.start()
        let security = NIOThreadPool(numberOfThreads: 1)
        security.start()
        let remoteWrite = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        for group in [http, remoteWrite] {
            // An unprivileged process may always lower its own priority; failing is harmless.
            _ = try? await group.next().submit { tally_thread_nice(backgroundNice) }.get()
        }
        let threads = Threads(
            ingest: ingest, ingestLoops: Array(ingest.makeIterator()), http: http, blocking: blocking,
            security: security, remoteWrite: remoteWrite)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(threads))
        } catch {
            result = .failure(error)
        }
        try? await blocking.shutdownGracefully()
        try? await security.shutdownGracefully()
        try? await ingest.shutdownGracefully()
        try? await http.shutdownGracefully()
        try? await remoteWrite.shutdownGracefully()
        return try result.get()
    }
}
