import ArgumentParser
import TallySystem

#if canImport(Glibc)
    import Glibc
#endif

struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send lines (arguments, or stdin when there are none).",
        usage: "tally send [LINE]... [--packet-size N] [--udp|--unix|--tcp TARGET]",
        discussion:
            "Lines are packed into datagrams of at most --packet-size bytes; over TCP each line ends with a newline.")

    @Argument(help: "StatsD lines, e.g. 'name:1|c|#service:api_gateway'.")
    var lines: [String] = []

    @Option(help: "Largest datagram to build from several lines, in bytes.")
    var packetSize = 8192

    @OptionGroup var target: TargetOptions

    func run() throws {
        let address = try target.address()
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
