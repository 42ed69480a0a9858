import Synchronization
import TallyCore
import TallySystem

#if canImport(Glibc)
    import CTallyNet
    import Glibc
#endif

/// A Unix datagram ingest socket with its own receive thread.
///
/// SwiftNIO's datagram channel closes itself on datagrams whose sender has no address, and
/// most Unix senders (socat, Python's `sendto`, the datadog client) are unbound; so this
/// socket is owned directly, like the UDP ones: a blocking `recvmmsg` loop
/// (`DatagramReceiveLoop`) that wakes every 200 ms to check for shutdown.
final class UnixDatagramReceiver: Sendable {
    let path: String
    private let fd: Int32
    /// Adopted from systemd: the socket file is systemd's, never unlinked here.
    let ownsPath: Bool
    private let stopping = Atomic<Bool>(false)

    /// For a peer-identity socket: the service of each sender, by uid first, then gid.
    struct Senders: Sendable {
        var uids: [UInt32: Int] = [:]
        var gids: [UInt32: Int] = [:]

        func service(uid: UInt32, gid: UInt32) -> Int? { uids[uid] ?? gids[gid] }
    }

    /// Creates and binds the socket: a stale socket file is replaced, any other file is an error.
    /// `passCredentials` turns SO_PASSCRED on before the first datagram can arrive.
    init(path: String, mode: UInt32, group: String?, receiveBuffer: Int, passCredentials: Bool = false) throws {
        self.path = path
        ownsPath = true
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFSOCK else {
                throw StartupError(
                    description:
                        "cannot listen: Unix ingest socket \(path): the path exists and is not a socket (not deleted)")
            }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw StartupError(description: "cannot create Unix socket \(path): \(String(cString: strerror(errno)))")
        }
        if passCredentials { _ = tally_passcred(fd) }
        guard tally_unix_attach(fd, path, 1) == 0 else {
            let tooLong = errno == ENAMETOOLONG
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw StartupError(
                description: tooLong
                    ? "Unix socket path \(path) is too long" : "cannot listen: Unix ingest socket \(path): \(reason)")
        }
        DatagramReceiveLoop.prepare(fd)
        var size = Int32(receiveBuffer)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        self.fd = fd
        do {
            try UnixSocketPermissions.apply(path: path, mode: mode, group: group)
        } catch {
            Glibc.close(fd)
            unlink(path)
            throw error
        }
    }

    /// Adopts a socket passed by systemd (already bound, its file owned by systemd).
    init(adopting fd: Int32, path: String) {
        self.path = path
        self.fd = fd
        ownsPath = false
        DatagramReceiveLoop.prepare(fd)
    }

    /// Receives until `stop()`, then empties what is still queued; meant to run on a thread of
    /// its own (`DatagramReceiveLoop`). `tick` runs at least every 200 ms (the watchdog's
    /// heartbeat).
    ///
    /// With `senders` (a peer-identity socket), each datagram folds as its sender's service,
    /// and a datagram from a sender the maps do not name is refused line by line as
    /// `unknown_sender`.
    func run(_ ingestor: Ingestor, senders: Senders? = nil, tick: () -> Void = {}) {
        if senders != nil { _ = tally_passcred(fd) }  // an adopted socket may not have it yet
        DatagramReceiveLoop.run(
            fd: fd, name: path, ingestor: ingestor, senders: senders,
            isStopping: { stopping.load(ordering: .relaxed) }, tick: tick)
    }

    /// Asks the loop to end (within 200 ms); the caller waits for the thread, then `close()`s.
    func stop() { stopping.store(true, ordering: .relaxed) }

    /// Closes the socket and removes its file (unless systemd owns it, or `unlinking` is false:
    /// a reload that replaced the socket at the same path keeps the new one's file).
    func close(unlinking: Bool = true) {
        Glibc.close(fd)
        if ownsPath && unlinking { unlink(path) }
    }
}
