import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Binding a listener, with the failure said the way an operator can act on it.
enum Binding {
    /// Runs `body` (a bind or an adoption) and turns its failure into a `StartupError` that
    /// names `what` and, for EADDRINUSE, the likely culprit.
    static func bind(_ what: String, _ body: () async throws -> any Channel) async throws -> any Channel {
        do {
            return try await body()
        } catch is UnixDomainSocketPathWrongType {
            throw StartupError(description: "cannot listen: \(what): the path exists and is not a socket (not deleted)")
        } catch let error as IOError {
            throw error.errnoCode == EADDRINUSE
                ? failure(what, errno: EADDRINUSE) : StartupError(description: "cannot listen: \(what): \(error)")
        } catch {
            throw StartupError(description: "cannot listen: \(what): \(error)")
        }
    }

    /// A failed `socket` or `bind` of our own (the UDP sockets), said like NIO's.
    static func failure(_ what: String, errno code: Int32) -> StartupError {
        let reason =
            code == EADDRINUSE
            ? "address already in use (is another tallyd or the service itself running?)"
            : String(cString: strerror(code))
        return StartupError(description: "cannot listen: \(what): \(reason)")
    }

    /// Closes what was bound before a later bind failed, so a failed start leaves no socket
    /// (and no Unix socket file) behind.
    static func closeAll(_ channels: [any Channel]) async {
        for channel in channels { try? await channel.close() }
    }
}
