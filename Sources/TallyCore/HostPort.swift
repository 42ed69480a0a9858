/// A socket address as people write it: `host:port`, or `[v6]:port`.
///
/// The one parser behind the config's listeners and the `tally` CLI's targets, so both accept
/// exactly the same spellings. Only listeners may say port 0 ("any free port"); a sender needs
/// a real one.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `[::1]:8125` for IPv6 hosts, `127.0.0.1:8125` otherwise.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Why a text is not a `HostPort`; `message` is written for the person who typed it.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Parses `host:port` or `[v6]:port`; `allowAnyPort` admits port 0.
    public static func parse(_ text: String, allowAnyPort: Bool) throws(ParseError) -> HostPort {
        let range = allowAnyPort ? "0-65535" : "1-65535"
        var host: Substring
        var portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw ParseError(message: "'\(text)' is not host:port") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw ParseError(message: "'\(text)' is not host:port") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        let lowest = allowAnyPort ? 0 : 1
        guard !host.isEmpty, let port = Int(portText), (lowest...65535).contains(port) else {
            throw ParseError(message: "'\(text)' is not host:port with a port in \(range)")
        }
        return HostPort(host: String(host), port: port)
    }
}
