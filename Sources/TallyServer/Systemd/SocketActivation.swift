#if canImport(Glibc)
    import CTallyNet  // <sys/socket.h>: SOCK_DGRAM / SOCK_STREAM are not always visible through Glibc alone
    import Glibc
#endif

/// The sockets systemd passed, checked and sorted by their `FileDescriptorName=`:
/// `ingest-udp`, `ingest-tcp`, `ingest-unix`, `admin`, or a configured service's name.
///
/// A passed socket replaces the config entry it matches (same port for UDP/TCP, same path for
/// Unix sockets); config entries nothing was passed for are bound as usual. A socket of the
/// wrong kind for its name is an error, never silently used.
public struct SocketActivation: Sendable {
    public struct InetSocket: Sendable, Equatable {
        public var fd: Int32
        public var port: Int
    }
    public struct UnixSocket: Sendable, Equatable {
        public var fd: Int32
        public var path: String
    }

    public var udp: [InetSocket] = []
    public var tcp: [InetSocket] = []
    public var unix: [UnixSocket] = []
    public var services: [String: InetSocket] = [:]
    public var admin: InetSocket?

    public var isEmpty: Bool { udp.isEmpty && tcp.isEmpty && unix.isEmpty && services.isEmpty && admin == nil }

    public init() {}

    /// The name that asks tallyd to sort a descriptor by its kind and port (systemd gives all
    /// descriptors of one .socket unit the same name, so `tally.socket` uses this one).
    public static let sortByKind = "tally"

    /// Sorts `passed` by name, checking each descriptor's kind; throws a `StartupError` that
    /// names the descriptor, what it is and what its name requires. Descriptors named `tally`
    /// are sorted by kind: UDP → ingest, Unix datagram → ingest, a listening TCP socket → the
    /// service, admin endpoint or TCP ingest whose configured port it has.
    public init(passed: [Systemd.PassedSocket], config: TallyConfig) throws {
        let serviceNames = config.services.map(\.name)
        for var socket in passed {
            let kind = SocketKind(fd: socket.fd)
            if socket.name == Self.sortByKind {
                if kind.matches(.inetDatagram) {
                    socket.name = "ingest-udp"
                } else if kind.matches(.unixDatagram) {
                    socket.name = "ingest-unix"
                } else if kind.matches(.inetListening) {
                    if let service = config.services.first(where: { $0.port == kind.port }) {
                        socket.name = service.name
                    } else if config.admin?.port == kind.port {
                        socket.name = "admin"
                    } else if config.tcp.contains(where: { $0.port == kind.port }) {
                        socket.name = "ingest-tcp"
                    } else {
                        throw StartupError(
                            description:
                                "socket activation: descriptor \(socket.fd) named 'tally' listens on port "
                                + "\(kind.port), which no service, admin or ingest.tcp entry of the config has"
                        )
                    }
                } else {
                    throw StartupError(
                        description:
                            "socket activation: descriptor \(socket.fd) named 'tally' is \(kind); tallyd takes "
                            + "UDP, Unix datagram and listening TCP sockets"
                    )
                }
            }
            func require(_ expected: SocketKind.Expected) throws {
                guard kind.matches(expected) else {
                    throw StartupError(
                        description:
                            "socket activation: descriptor \(socket.fd) named '\(socket.name)' is \(kind), but "
                            + "'\(socket.name)' needs \(expected.description)"
                    )
                }
            }
            switch socket.name {
            case "ingest-udp":
                try require(.inetDatagram)
                udp.append(InetSocket(fd: socket.fd, port: kind.port))
            case "ingest-tcp":
                try require(.inetListening)
                tcp.append(InetSocket(fd: socket.fd, port: kind.port))
            case "ingest-unix":
                try require(.unixDatagram)
                unix.append(UnixSocket(fd: socket.fd, path: kind.path))
            case "admin":
                try require(.inetListening)
                admin = InetSocket(fd: socket.fd, port: kind.port)
            case let name where serviceNames.contains(name):
                try require(.inetListening)
                guard services[name] == nil else {
                    throw StartupError(description: "socket activation: two descriptors are named '\(name)'")
                }
                services[name] = InetSocket(fd: socket.fd, port: kind.port)
            default:
                throw StartupError(
                    description:
                        "socket activation: descriptor \(socket.fd) is named '\(socket.name)'; tallyd knows "
                        + "tally (sorted by kind and port), ingest-udp, ingest-tcp, ingest-unix, admin and "
                        + "the services \(serviceNames.joined(separator: ", ")) (set FileDescriptorName= "
                        + "in the .socket unit)"
                )
            }
        }
    }
}

/// What a descriptor is, read from the kernel (SO_DOMAIN, SO_TYPE, SO_ACCEPTCONN, getsockname).
struct SocketKind: CustomStringConvertible {
    enum Expected {
        case inetDatagram, inetListening, unixDatagram
        var description: String {
            switch self {
            case .inetDatagram: return "a UDP socket (ListenDatagram=host:port)"
            case .inetListening: return "a listening TCP socket (ListenStream=host:port)"
            case .unixDatagram: return "a Unix datagram socket (ListenDatagram=/path)"
            }
        }
    }

    var domain: Int32 = -1
    var type: Int32 = -1
    var listening = false
    var port = 0
    var path = ""

    init(fd: Int32) {
        domain = Self.option(fd, SO_DOMAIN) ?? -1
        type = Self.option(fd, SO_TYPE) ?? -1
        listening = (Self.option(fd, SO_ACCEPTCONN) ?? 0) != 0
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok =
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            } == 0
        guard ok else { return }
        withUnsafeBytes(of: &storage) { raw in
            switch domain {
            case AF_INET:
                let a = raw.load(as: sockaddr_in.self)
                port = Int(UInt16(bigEndian: a.sin_port))
            case AF_INET6:
                let a = raw.load(as: sockaddr_in6.self)
                port = Int(UInt16(bigEndian: a.sin6_port))
            case AF_UNIX:
                let offset = MemoryLayout<sa_family_t>.size
                let bytes = raw[offset..<min(Int(length), raw.count)]
                path = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            default:
                break
            }
        }
    }

    func matches(_ expected: Expected) -> Bool {
        let inet = domain == AF_INET || domain == AF_INET6
        switch expected {
        case .inetDatagram: return inet && type == Int32(SOCK_DGRAM.rawValue)
        case .inetListening: return inet && type == Int32(SOCK_STREAM.rawValue) && listening
        case .unixDatagram: return domain == AF_UNIX && type == Int32(SOCK_DGRAM.rawValue)
        }
    }

    var description: String {
        if domain < 0 { return "not a socket" }
        let family =
            domain == AF_INET ? "IPv4" : domain == AF_INET6 ? "IPv6" : domain == AF_UNIX ? "Unix" : "family \(domain)"
        let kind =
            type == Int32(SOCK_DGRAM.rawValue)
            ? "datagram"
            : type == Int32(SOCK_STREAM.rawValue) ? (listening ? "listening stream" : "stream") : "type \(type)"
        let at = domain == AF_UNIX ? (path.isEmpty ? "" : " at \(path)") : " on port \(port)"
        return "an \(family) \(kind) socket\(at)"
    }

    private static func option(_ fd: Int32, _ name: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, name, &value, &length) == 0 ? value : nil
    }
}
