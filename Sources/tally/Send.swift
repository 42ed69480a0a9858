import ArgumentParser
import TallySystem

#if canImport(Glibc)
    import Glibc
#endif

struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send lines (arguments, or stdin when there are none).",
        usage: "tally send [LINE]... [--packet-size N] [--udp|--unix|--tcp TARGET]",
        discussion: """
            Lines are packed into datagrams of at most --packet-size bytes; over TCP each line ends with a newline.
            Each line is checked first, as the metric commands check theirs: a line tallyd would refuse is not
            sent and is reported on stderr (its number, tallyd's reason and message); the others are sent, and
            the exit status is 2 if any was refused. Whether tallyd's config has the line's service is not
            checked here (see tally --help).
            """)

    @Argument(help: "StatsD lines, e.g. 'name:1|c|#service:api_gateway'.")
    var lines: [String] = []

    @Option(help: "Largest datagram to build from several lines, in bytes.")
    var packetSize = 8192

    @Option(help: ArgumentHelp("Check against this catalogue instead of the embedded one.", valueName: "file"))
    var catalogue: String?

    @Flag(help: "Send every line without checking it against the catalogue first.")
    var noValidate = false

    @OptionGroup var target: TargetOptions

    func run() throws {
        let address = try target.address()
        let checkedAgainst = noValidate ? nil : try LocalCheck.catalogue(catalogue)
        let connection: Connection
        do {
            connection = try Connection(address)
        } catch let error as AddressError {
            throw CleanExit.sendFailure(address, error)
        }
        var number = 0
        var refused = 0
        var warnedNoService = false
        var packet: [UInt8] = []
        var sent = 0
        func flush() throws {
            guard !packet.isEmpty else { return }
            do {
                try connection.send(packet)
            } catch let error as AddressError {
                throw CleanExit.sendFailure(address, error)
            }
            packet.removeAll(keepingCapacity: true)
        }
        func add(_ line: Substring) throws {
            number += 1
            let trimmed = line.trimmingCharacters()
            guard !trimmed.isEmpty else { return }
            if let checkedAgainst {
                if let r = LocalCheck.refusal(of: trimmed, service: nil, catalogue: checkedAgainst) {
                    StandardError.print(
                        "tally: line \(number) not sent: \(LocalCheck.describe(r)): "
                            + trimmed)
                    refused += 1
                    return
                }
                if !warnedNoService && LocalCheck.namesNoService(trimmed, service: nil) {
                    StandardError.print(LocalCheck.noServiceWarning(trimmed) + " (said once)")
                    warnedNoService = true
                }
            }
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
        if refused > 0 {
            throw CleanExit.failure(
                code: 2, "tally: \(refused) of \(sent + refused) lines refused, \(sent) sent (--no-validate sends all)")
        }
        if sent == 0 { StandardError.print("tally: nothing to send") }
    }
}
