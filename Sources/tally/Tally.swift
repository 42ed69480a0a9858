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
              tally count orders_placed_total --service order_executor \
                -t order_type=limit -t symbol=BTCUSDT -t side=buy
              tally gauge db_connections_total 7 --service risk_manager
              tally observe http_request_size_bytes 512 -t method=GET -t path=/x
              tally time backup_seconds --service risk_manager -- pg_dump db
              tally up order_executor; tally down order_executor
              tally send 'db_connections_total:7|g|#service:risk_manager'
              tally load --rate max --duration 10s --senders 2
              tally load --admin 127.0.0.1:19102 ...  (admin port not 9102)
              tally status; tally top       (what tallyd receives and refuses)

            Lines are checked against the catalogue before they are sent: what
            tallyd would refuse exits 2 with its reason, and nothing is sent.
            TALLY_SERVICE names the service when --service does not.
            """,
        version: TallyVersion.current,
        subcommands: [
            Send.self, Count.self, Gauge.self, Observe.self, SetMember.self, Time.self, Up.self, Down.self,
            Status.self, Top.self, Load.self, HashPassword.self,
        ])
}

extension Substring {
    func trimmingCharacters() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
