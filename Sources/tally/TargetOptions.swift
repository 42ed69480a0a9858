import ArgumentParser

/// Where a command sends: `--udp`, `--unix` or `--tcp`, else `TALLY_ADDR`, else UDP
/// 127.0.0.1:8125, the same for every subcommand.
struct TargetOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Send over UDP to HOST:PORT.", valueName: "host:port")) var udp: String?
    @Option(help: ArgumentHelp("Send to the Unix datagram socket PATH.", valueName: "path")) var unix: String?
    @Option(help: ArgumentHelp("Send over TCP to HOST:PORT.", valueName: "host:port")) var tcp: String?

    func validate() throws {
        guard [udp, unix, tcp].compactMap({ $0 }).count <= 1 else {
            throw ValidationError("give at most one of --udp, --unix, --tcp")
        }
    }

    func address() throws -> TallyAddress {
        if let udp { return try TallyAddress.parse(udp) }
        if let unix { return .unix(path: unix) }
        if let tcp { return try TallyAddress.parse("tcp:" + tcp) }
        return try TallyAddress.fromEnvironment()
    }
}
