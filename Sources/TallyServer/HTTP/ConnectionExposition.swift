import TallyCore

/// tallyd's own metrics about what its network surface refused: HTTP requests and connections
/// by endpoint and reason, failed logins, TCP ingest connections over the limit. Every
/// endpoint and reason is listed from the start (zeros), so an alert's `rate()` has a series.
enum ConnectionExposition {
    static func render(_ w: inout TextWriter, serving: HTTPServing, tcp: TCPSettings, endpoints: [String]) {
        let counts = serving.refusals.all
        w.header(
            name: "tally_http_refused_total",
            help: "HTTP connections and requests refused, by endpoint and reason (see docs/security.md).",
            type: .counter)
        for endpoint in endpoints {
            for reason in HTTPRefusals.Reason.allCases {
                w.append("tally_http_refused_total{endpoint=\"")
                w.labelValue(endpoint)
                w.append("\",reason=\"")
                w.append(reason.rawValue)
                w.append("\"} ")
                w.integer(Int64(counts[.init(endpoint: endpoint, reason: reason)] ?? 0))
                w.append(byte: 0x0A)
            }
        }
        w.header(
            name: "tally_http_auth_failures_total", help: "Basic auth attempts with a wrong user or password.",
            type: .counter)
        for endpoint in endpoints {
            w.append("tally_http_auth_failures_total{endpoint=\"")
            w.labelValue(endpoint)
            w.append("\"} ")
            w.integer(Int64(counts[.init(endpoint: endpoint, reason: .authFailed)] ?? 0))
            w.append(byte: 0x0A)
        }
        w.single(
            name: "tally_tcp_connections_refused_total",
            help: "TCP ingest connections closed as accepted: ingest.tcp_max_connections were open.", type: .counter,
            integer: Int64(tcp.refused))
        w.single(
            name: "tally_tcp_connections_open", help: "TCP ingest connections open now.", type: .gauge,
            integer: Int64(tcp.open.current))
    }
}
