/// Kernel receive-queue drops of UDP sockets, read from `/proc/net/udp` and `/proc/net/udp6`.
///
/// Every socket bound to one of tallyd's ports is tallyd's (SO_REUSEPORT siblings included),
/// so summing the `drops` column per local port gives what tallyd lost to full buffers.
enum UDPDrops {
    static func read(ports: Set<Int>) -> [Int: Int] {
        var out: [Int: Int] = [:]
        for file in ["/proc/net/udp", "/proc/net/udp6"] {
            guard let text = try? FileText.read(file) else { continue }
            for (port, drops) in parse(text) where ports.contains(port) {
                out[port, default: 0] += drops
            }
        }
        return out
    }

    /// (local port, drops) per socket line of a /proc/net/udp file.
    static func parse(_ text: String) -> [(port: Int, drops: Int)] {
        var rows: [(Int, Int)] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 13, let colon = fields[1].lastIndex(of: ":"),
                let port = Int(fields[1][fields[1].index(after: colon)...], radix: 16),
                let drops = Int(fields[fields.count - 1])
            else { continue }
            rows.append((port, drops))
        }
        return rows
    }
}
