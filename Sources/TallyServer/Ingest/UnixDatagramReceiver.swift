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
/// socket is owned directly: a blocking `recv` loop that wakes every 200 ms to check for
/// shutdown.
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
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
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
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // systemd may pass it non-blocking; the loop relies on SO_RCVTIMEO instead.
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
    }

    /// Datagrams read per system call, and the largest datagram taken whole.
    static let batch = 16
    static let datagramSize = 65_536

    /// Receives until `stop()`, then empties what is still queued; meant to run on a thread of
    /// its own. `tick` runs at least every 200 ms (the watchdog's heartbeat). Reads up to
    /// `batch` datagrams per `recvmmsg`: blocking for the first, taking whatever else is queued.
    ///
    /// With `senders` (a peer-identity socket), each datagram folds as its sender's service,
    /// and a datagram from a sender the maps do not name is refused line by line as
    /// `unknown_sender`.
    func run(_ ingestor: Ingestor, senders: Senders? = nil, tick: () -> Void = {}) {
        let storage = RawBuffer<UInt8>(capacity: Self.batch * Self.datagramSize)
        defer { withExtendedLifetime(storage) {} }
        let buffers = (0..<Self.batch).map { UnsafeMutableRawPointer?(storage.raw + $0 * Self.datagramSize) }
        var lengths = [Int](repeating: 0, count: Self.batch)
        var uids = [UInt32](repeating: 0, count: Self.batch)
        var gids = [UInt32](repeating: 0, count: Self.batch)
        if senders != nil { _ = tally_passcred(fd) }  // an adopted socket may not have it yet
        var draining = false
        while true {
            if !draining && stopping.load(ordering: .relaxed) { draining = true }
            let flags = draining ? Int32(MSG_DONTWAIT) : Int32(MSG_WAITFORONE)
            let n = buffers.withUnsafeBufferPointer { b in
                lengths.withUnsafeMutableBufferPointer { l in
                    guard senders != nil else {
                        return tally_recvmmsg(
                            fd, b.baseAddress, Self.datagramSize, l.baseAddress, UInt32(Self.batch), flags)
                    }
                    return uids.withUnsafeMutableBufferPointer { u in
                        gids.withUnsafeMutableBufferPointer { g in
                            tally_recvmmsg_creds(
                                fd, b.baseAddress, Self.datagramSize, l.baseAddress, u.baseAddress, g.baseAddress,
                                UInt32(Self.batch), flags)
                        }
                    }
                }
            }
            if n >= 0 {
                let now = WallClock.now()
                for i in 0..<Int(n) {
                    let packet = UnsafeRawBufferPointer(
                        start: buffers[i], count: lengths[i] == -1 ? Self.datagramSize : lengths[i])
                    if lengths[i] == -1 {
                        ingestor.refuse(
                            .lineTooLong,
                            "a datagram longer than \(Self.datagramSize) bytes was cut; send smaller packets",
                            line: UnsafeRawBufferPointer(rebasing: packet[0..<200]), now: now)
                    } else if lengths[i] > 0, let senders {
                        if let service = senders.service(uid: uids[i], gid: gids[i]) {
                            ingestor.ingest(packet: packet, now: now, boundService: service)
                        } else {
                            ingestor.refuseAll(
                                .unknownSender,
                                "uid \(uids[i]) (gid \(gids[i])) is not in this socket's uids/gids: \(path)",
                                packet: packet, now: now)
                        }
                    } else if lengths[i] > 0 {
                        ingestor.ingest(packet: packet, now: now)
                    }
                }
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                if draining { break }
            } else if errno != EINTR {
                break
            }
            tick()
        }
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
