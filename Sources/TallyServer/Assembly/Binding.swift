import NIOCore
import NIOPosix

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
            let reason =
                error.errnoCode == 98
                ? "address already in use (is another tallyd or the service itself running?)" : "\(error)"
            throw StartupError(description: "cannot listen: \(what): \(reason)")
        } catch {
            throw StartupError(description: "cannot listen: \(what): \(error)")
        }
    }

    /// Closes what was bound before a later bind failed, so a failed start leaves no socket
    /// (and no Unix socket file) behind.
    static func closeAll(_ channels: [any Channel]) async {
        for channel in channels { try? await channel.close() }
    }
}
