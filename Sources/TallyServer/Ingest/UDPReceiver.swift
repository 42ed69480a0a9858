import NIOCore
import Synchronization
import TallyCore

#if canImport(Glibc)
    import Glibc
#endif

/// One UDP ingest socket, read by its own thread (`DatagramReceiveLoop`) rather than by an
/// event loop: a UDP address gets several of them with SO_REUSEPORT, one per receive loop,
/// and the kernel spreads senders over them.
final class UDPReceiver: Sendable {
    let fd: Int32
    /// The port as bound (a configured port 0 resolved).
    let port: Int
    private let stopping = Atomic<Bool>(false)

    /// Binds `address` (a name is resolved, as `getaddrinfo` does). `reusePort` lets the
    /// sibling sockets of one address share it; `receiveBuffer` asks for SO_RCVBUF. Throws a
    /// `StartupError` that names `what`.
    init(binding address: HostPort, what: String, reusePort: Bool, receiveBuffer: Int?) throws {
        let resolved: SocketAddress
        do {
            resolved = try SocketAddress.makeAddressResolvingHost(address.host, port: address.port)
        } catch {
            throw StartupError(description: "cannot listen: \(what): cannot resolve \(address.host)")
        }
        let fd = socket(Int32(resolved.protocol.rawValue), Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Binding.failure(what, errno: errno) }
        var on: Int32 = 1
        if reusePort { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, socklen_t(MemoryLayout<Int32>.size)) }
        if var size = receiveBuffer.map(Int32.init) {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        guard resolved.withSockAddr({ Glibc.bind(fd, $0, socklen_t($1)) }) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw Binding.failure(what, errno: code)
        }
        DatagramReceiveLoop.prepare(fd)
        self.fd = fd
        port = Self.boundPort(fd) ?? address.port
    }

    /// Adopts a socket passed by systemd (already bound).
    init(adopting fd: Int32, port: Int) {
        self.fd = fd
        self.port = Self.boundPort(fd) ?? port
        DatagramReceiveLoop.prepare(fd)
    }

    /// Receives until `stop()`, then empties what is still queued; meant to run on a thread of
    /// its own. `tick` runs at least every 200 ms (the watchdog's heartbeat). Once `wedge` is
    /// set the loop stops reading and never returns (a test hook).
    func run(_ ingestor: Ingestor, wedge: DebugWedge? = nil, tick: () -> Void = {}) {
        DatagramReceiveLoop.run(
            fd: fd, name: "udp port \(port)", ingestor: ingestor, isStopping: { stopping.load(ordering: .relaxed) },
            tick: {
                while wedge?.isSet == true { sleep(1) }
                tick()
            })
    }

    /// Asks the loop to end (within 200 ms); the caller waits for the thread, then `close()`s.
    func stop() { stopping.store(true, ordering: .relaxed) }

    func close() { Glibc.close(fd) }

    /// What the kernel granted for SO_RCVBUF.
    var receiveBuffer: Int { DatagramReceiveLoop.receiveBuffer(fd) }

    private static func boundPort(_ fd: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { return nil }
        // sin_port and sin6_port sit at the same offset, in network order.
        switch Int32(storage.ss_family) {
        case AF_INET, AF_INET6:
            return withUnsafeBytes(of: &storage) { Int(UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self))) }
        default:
            return nil
        }
    }
}
