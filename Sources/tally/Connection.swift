import CTallyNet

#if canImport(Glibc)
    import Glibc
#endif

/// A connected socket to tallyd: datagrams (UDP, Unix) or a TCP stream of lines.
final class Connection {
    let address: TallyAddress
    private let fd: Int32

    init(_ address: TallyAddress) throws {
        self.address = address
        switch address {
        case .unix(let path):
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw Connection.error("socket") }
            guard tally_unix_attach(fd, path, 0) == 0 else {
                let e =
                    errno == ENAMETOOLONG
                    ? AddressError(message: "unix socket path is too long: \(path)")
                    : Connection.error("connect to unix:\(path)")
                Glibc.close(fd)
                throw e
            }
        case .udp(let host, let port), .tcp(let host, let port):
            let stream = !address.isDatagram
            var hints = addrinfo()
            hints.ai_socktype = stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
                throw AddressError(message: "cannot resolve \(host)")
            }
            defer { freeaddrinfo(result) }
            fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw Connection.error("socket") }
            guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
                let e = Connection.error("connect to \(address)")
                Glibc.close(fd)
                throw e
            }
        }
    }

    deinit { Glibc.close(fd) }

    /// Everything the peer sends until it closes, or until `timeout` seconds pass without data.
    func receiveAll(timeout: Int) -> [UInt8] {
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }

    static func error(_ what: String) -> AddressError {
        AddressError(message: "\(what): \(String(cString: strerror(errno)))")
    }

    /// One datagram (or, on TCP, bytes that should end with a newline).
    func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    // ECONNREFUSED on UDP only says nobody listened to an earlier datagram.
                    if address.isDatagram && errno == ECONNREFUSED { return }
                    throw Connection.error("send to \(address)")
                }
                if address.isDatagram { return }
                off += n
            }
        }
    }

    /// Sends packets in batches (sendmmsg for datagrams); returns how many went out. Datagrams
    /// the kernel refuses with ENOBUFS/EAGAIN count as not sent.
    func sendBatch(_ packets: UnsafeBufferPointer<UnsafeRawPointer?>, lengths: UnsafeBufferPointer<Int>) -> Int {
        if address.isDatagram {
            let n = tally_sendmmsg(
                fd, packets.baseAddress!,
                lengths.baseAddress!.withMemoryRebound(to: Int.self, capacity: lengths.count) {
                    UnsafeRawPointer($0).assumingMemoryBound(to: size_t.self)
                }, UInt32(packets.count))
            return max(0, Int(n))
        }
        var sent = 0
        for i in 0..<packets.count {
            var off = 0
            while off < lengths[i] {
                let n = Glibc.send(fd, packets[i]! + off, lengths[i] - off, Int32(MSG_NOSIGNAL))
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    return sent
                }
                off += n
            }
            sent += 1
        }
        return sent
    }
}
