/// Reads tallyd's admin `/metrics` (plain HTTP/1.0 over TCP) for the load report.
struct AdminScrape {
    var samples: [(name: String, labels: String, value: Double)] = []

    static func fetch(host: String, port: Int, timeout: Double = 5) throws -> AdminScrape {
        let connection: Connection
        do {
            connection = try Connection(.tcp(host: host, port: port))
        } catch {
            throw AddressError(
                message: "cannot reach tallyd's admin endpoint at \(host):\(port) (--admin none to skip)")
        }
        try connection.send(Array("GET /metrics HTTP/1.0\r\nHost: \(host)\r\n\r\n".utf8))
        let body = connection.receiveAll(timeout: max(1, Int(timeout)))
        let text = String(decoding: body, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), text.split(separator: "\r\n").first?.contains(" 200") == true else {
            throw AddressError(message: "admin endpoint \(host):\(port) did not answer 200")
        }
        var out = AdminScrape()
        let bodyText = text.split(separator: "\r\n\r\n", maxSplits: 1).last ?? ""
        for line in bodyText.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            let series = line[..<space]
            if let brace = series.firstIndex(of: "{") {
                out.samples.append((String(series[..<brace]), String(series[brace...]), value))
            } else {
                out.samples.append((String(series), "", value))
            }
        }
        return out
    }

    /// The sum of every sample of `name` (all label sets).
    func total(_ name: String) -> Double {
        samples.filter { $0.name == name }.reduce(0) { $0 + $1.value }
    }
}
