import TallyCore

#if canImport(Glibc)
    import Glibc
#endif

/// Where a sender sends: `host:port` (UDP), `unix:/path` (Unix datagram), `tcp:host:port`.
/// Every sender we ship reads it from `TALLY_ADDR`, defaulting to UDP 127.0.0.1:8125.
enum TallyAddress: Equatable, CustomStringConvertible {
    case udp(host: String, port: Int)
    case unix(path: String)
    case tcp(host: String, port: Int)

    static let environmentKey = "TALLY_ADDR"
    static let fallback = TallyAddress.udp(host: "127.0.0.1", port: 8125)

    /// `TALLY_ADDR`, or UDP 127.0.0.1:8125 when unset or empty.
    static func fromEnvironment() throws -> TallyAddress {
        guard let raw = getenv(environmentKey), raw.pointee != 0 else { return fallback }
        let text = String(cString: raw)
        do {
            return try parse(text)
        } catch {
            throw AddressError(message: "\(environmentKey)=\(text): \(error.message)")
        }
    }

    static func parse(_ text: String) throws(AddressError) -> TallyAddress {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { throw AddressError(message: "unix: needs a path (unix:/run/tally/ingest.sock)") }
            return .unix(path: path)
        }
        if text.hasPrefix("tcp:") {
            let (host, port) = try hostPort(String(text.dropFirst(4)))
            return .tcp(host: host, port: port)
        }
        if text.hasPrefix("udp:") {
            let (host, port) = try hostPort(String(text.dropFirst(4)))
            return .udp(host: host, port: port)
        }
        let (host, port) = try hostPort(text)
        return .udp(host: host, port: port)
    }

    /// `host:port` or `[v6]:port` with a real port (a sender cannot send to port 0): the same
    /// parser as the config's listeners.
    static func hostPort(_ text: String) throws(AddressError) -> (String, Int) {
        guard text.contains(":") else { throw AddressError(message: "expected host:port, unix:/path or tcp:host:port") }
        do {
            let address = try HostPort.parse(text, allowAnyPort: false)
            return (address.host, address.port)
        } catch {
            throw AddressError(message: error.message)
        }
    }

    var description: String {
        switch self {
        case .udp(let h, let p): return h.contains(":") ? "[\(h)]:\(p)" : "\(h):\(p)"
        case .unix(let path): return "unix:\(path)"
        case .tcp(let h, let p): return "tcp:" + (h.contains(":") ? "[\(h)]:\(p)" : "\(h):\(p)")
        }
    }

    var isDatagram: Bool {
        if case .tcp = self { return false }
        return true
    }
}

struct AddressError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
