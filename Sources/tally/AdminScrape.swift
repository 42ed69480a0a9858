/// Reads tallyd's admin `/metrics` (plain HTTP/1.0 over TCP) for the load report.
struct AdminScrape {
    var samples: [(name: String, labels: String, value: Double)] = []

    /// The body of `GET path` on the admin endpoint; throws unless it answers 200.
    static func get(host: String, port: Int, path: String, timeout: Double = 5, hint: String = "")
        throws -> [UInt8]
    {
        let connection: Connection
        do {
            connection = try Connection(.tcp(host: host, port: port))
        } catch {
            throw AddressError(message: "cannot reach tallyd's admin endpoint at \(host):\(port)\(hint)")
        }
        try connection.send(Array("GET \(path) HTTP/1.0\r\nHost: \(host)\r\n\r\n".utf8))
        let response = connection.receiveAll(timeout: max(1, Int(timeout)))
        let separator: [UInt8] = [13, 10, 13, 10]
        var split = response.count
        if response.count >= 4 {
            for i in 0...(response.count - 4) where Array(response[i..<(i + 4)]) == separator {
                split = i
                break
            }
        }
        let head = String(decoding: response[..<split], as: UTF8.self)
        let status = head.split(separator: "\r\n").first.map(String.init) ?? ""
        guard head.hasPrefix("HTTP/1."), status.contains(" 200") else {
            throw AddressError(message: Self.refusal(status: status, host: host, port: port, path: path))
        }
        return split + 4 <= response.count ? Array(response[(split + 4)...]) : []
    }

    /// What an answer other than 200 means, and what to do about it.
    static func refusal(status: String, host: String, port: Int, path: String) -> String {
        let code = status.split(separator: " ").dropFirst().first.map(String.init) ?? "no HTTP status"
        let base = "tallyd's admin endpoint \(host):\(port) answered \(code) to GET \(path)"
        switch code {
        case "401":
            return base + ": it asks for basic auth (web_config_file), which tally does not send; "
                + "read it with curl -u USER (or open its status page) instead"
        case "400":
            return base + ": it may expect TLS (web_config_file has tls_server_config); tally speaks plain HTTP"
        case "no HTTP status":
            return "tallyd's admin endpoint \(host):\(port) gave no HTTP answer to GET \(path) (TLS? another program?)"
        default:
            return base
        }
    }

    static func fetch(host: String, port: Int, timeout: Double = 5) throws -> AdminScrape {
        let body = try get(host: host, port: port, path: "/metrics", timeout: timeout, hint: " (--admin none to skip)")
        var out = AdminScrape()
        let bodyText = String(decoding: body, as: UTF8.self)
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
