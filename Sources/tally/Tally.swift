import ArgumentParser
import TallySystem

#if canImport(Glibc)
    import Glibc
#endif

@main
struct Tally: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally",
        abstract: "Send StatsD lines to tallyd, or put it under load.",
        discussion: """
            TARGET comes from TALLY_ADDR (default 127.0.0.1:8125):
              host:port        UDP          e.g. TALLY_ADDR=127.0.0.1:8125
              unix:/path       Unix datagram socket (ingest.unix in tallyd.yaml)
              tcp:host:port    TCP, newline-terminated lines

            EXAMPLES
              tally send 'api_gateway.jobs:1|c|#queue:default'
              tally send 'db_connections_total:7|g|#service:risk_manager'
              printf 'order_executor.fills:2|c\\n' | tally send
              tally load --rate max --duration 10s --senders 2
              tally load --admin 127.0.0.1:19102 ...  (admin port not 9102)
            """,
        version: TallyVersion.current,
        subcommands: [Send.self, Load.self])
}

struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send lines (arguments, or stdin when there are none).",
        discussion:
            "Lines are packed into datagrams of at most --packet-size bytes; over TCP each line ends with a newline.")

    @Argument(help: "StatsD lines, e.g. 'name:1|c|#service:api_gateway'.")
    var lines: [String] = []

    @Option(help: "Largest datagram to build from several lines, in bytes.")
    var packetSize = 8192

    func run() throws {
        let address = try TallyAddress.fromEnvironment()
        let connection = try Connection(address)
        var packet: [UInt8] = []
        var sent = 0
        func flush() throws {
            guard !packet.isEmpty else { return }
            try connection.send(packet)
            packet.removeAll(keepingCapacity: true)
        }
        func add(_ line: Substring) throws {
            let trimmed = line.trimmingCharacters()
            guard !trimmed.isEmpty else { return }
            let bytes = Array(trimmed.utf8)
            if address.isDatagram {
                if !packet.isEmpty && packet.count + 1 + bytes.count > packetSize { try flush() }
                if !packet.isEmpty { packet.append(0x0A) }
                packet.append(contentsOf: bytes)
            } else {
                packet.append(contentsOf: bytes)
                packet.append(0x0A)
                if packet.count >= packetSize { try flush() }
            }
            sent += 1
        }
        if lines.isEmpty {
            while let line = readLine(strippingNewline: true) { try add(Substring(line)) }
        } else {
            for l in lines { for part in l.split(separator: "\n") { try add(part) } }
        }
        try flush()
        if sent == 0 { StandardError.print("tally: nothing to send") }
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
