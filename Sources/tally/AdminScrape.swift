#if canImport(Glibc)
import Glibc
#endif

/// Reads tallyd's admin `/metrics` (plain HTTP/1.0 over TCP) for the load report.
struct AdminScrape {
    var samples: [(name: String, labels: String, value: Double)] = []

    static func fetch(host: String, port: Int, timeout: Double = 5) throws -> AdminScrape {
        let fd = try rawConnect(host: host, port: port)
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET /metrics HTTP/1.0\r\nHost: \(host)\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var body: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            body.append(contentsOf: buf[0..<n])
        }
        let text = String(decoding: body, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), text.split(separator: "\r\n").first?.contains(" 200") == true else {
            throw AddressError(message: "admin endpoint \(host):\(port) did not answer 200")
        }
        var out = AdminScrape()
        let bodyText = text.split(separator: "\r\n\r\n", maxSplits: 1).last ?? ""
        for line in bodyText.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            if let brace = series.firstIndex(of: "{") {
                out.samples.append((String(series[..<brace]), String(series[brace...]), value))
            } else {
                out.samples.append((String(series), "", value))
            }
        }
        return out
    }

    static func rawConnect(host: String, port: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw AddressError(message: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, 0)
        guard fd >= 0, connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            if fd >= 0 { close(fd) }
            throw AddressError(message: "cannot reach tallyd's admin endpoint at \(host):\(port) (--admin none to skip)")
        }
        return fd
    }

    /// The sum of every sample of `name` (all label sets).
    func total(_ name: String) -> Double {
        samples.filter { $0.name == name }.reduce(0) { $0 + $1.value }
    }
}
