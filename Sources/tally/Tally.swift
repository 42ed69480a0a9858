import ArgumentParser
import TallySystem

#if canImport(Glibc)
    import Glibc
#endif

@main
struct Tally: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally",
        abstract: "Send metrics to tallyd from scripts, or put it under load.",
        discussion: """
            TARGET comes from TALLY_ADDR (default 127.0.0.1:8125):
              host:port        UDP          e.g. TALLY_ADDR=127.0.0.1:8125
              unix:/path       Unix datagram socket (ingest.unix in tallyd.yaml)
              tcp:host:port    TCP, newline-terminated lines

            EXAMPLES
              tally count orders_placed_total --service order_executor \\
                -t order_type=limit -t symbol=BTCUSDT -t side=buy
              tally gauge db_connections_total 7 --service risk_manager
              tally observe http_request_size_bytes 512 -t method=GET \\
                -t path=/x --service api_gateway
              tally time backup_seconds --service risk_manager -- pg_dump db
              tally up order_executor; tally down order_executor
              tally send 'db_connections_total:7|g|#service:risk_manager'
              tally load --rate max --duration 10s --senders 2
              tally load --admin 127.0.0.1:19102 ...  (admin port not 9102)
              tally status; tally top       (what tallyd receives and refuses)

            CHECKED before sending, with tallyd's own parser and the catalogue
            (embedded, or --catalogue FILE): syntax, value, family, type, unit,
            labels, and services that disagree. What tallyd would refuse for those
            exits 2 with its reason and is not sent (tally send: that line; the
            others go). Not checked: whether tallyd's config has the service
            (unknown_service) or a default_service for a line naming none
            (no_service); such a line is sent, with a warning when it names none.
            TALLY_SERVICE names the service when --service does not.
            """,
        version: TallyVersion.current,
        subcommands: [
            Send.self, Count.self, Gauge.self, Observe.self, SetMember.self, Time.self, Up.self, Down.self,
            Status.self, Top.self, Load.self, HashPassword.self,
        ])
}

extension Tally {
    /// ArgumentParser's own main, with two hints it cannot give: `tally help NAME` for a NAME
    /// that is no subcommand exits 64 instead of printing the general help with status 0, and
    /// a value such as `-2` taken for an option says to put it after `--`.
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if args.count >= 2, args[0] == "help",
            !configuration.subcommands.contains(where: {
                $0._commandName == args[1]
            })
        {
            StandardError.print("tally: no subcommand '\(args[1])' (tally --help lists them)")
            Glibc.exit(64)
        }
        do {
            var command = try parseAsRoot(args)
            try command.run()
        } catch {
            let code = exitCode(for: error)
            guard code != .success else { exit(withError: error) }
            let message = fullMessage(for: error)
            if !message.isEmpty { StandardError.print(message) }
            if let negative = args.first(where: { $0.count > 1 && $0.hasPrefix("-") && Double($0) != nil }),
                !args.contains("--")
            {
                StandardError.print(
                    "tally: '\(negative)' is read as an option: put it after --, e.g. tally gauge NAME -- \(negative)")
            }
            Glibc.exit(code.rawValue)
        }
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
