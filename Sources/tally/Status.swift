import ArgumentParser
import TallyCore
import TallyServer
import TallySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Where tallyd's admin endpoint is: `--admin HOST:PORT`, else `TALLY_ADMIN`, else 127.0.0.1:9102.
struct AdminOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp("tallyd's admin endpoint (else TALLY_ADMIN, else 127.0.0.1:9102).", valueName: "host:port"))
    var admin: String?

    func address() throws -> (String, Int) {
        if let admin { return try TallyAddress.hostPort(admin) }
        if let raw = getenv("TALLY_ADMIN"), raw.pointee != 0 { return try TallyAddress.hostPort(String(cString: raw)) }
        return ("127.0.0.1", 9102)
    }

    func report() throws -> StatusReport {
        let (host, port) = try address()
        let body = try AdminScrape.get(host: host, port: port, path: "/api/v1/status")
        return try StatusReport.decode(body)
    }
}

/// `tally status`: the status page as a terminal table.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what tallyd is receiving, refusing and holding.",
        usage: "tally status [--json] [--admin HOST:PORT]",
        discussion: """
            tally status                      services, refusals, listeners, reload
            tally status --json | jq .services
            TALLY_ADMIN=127.0.0.1:19102 tally status
            """)

    @Flag(help: "Print the /api/v1/status JSON instead of the table.") var json = false
    @OptionGroup var admin: AdminOptions

    func run() throws {
        if json {
            let (host, port) = try admin.address()
            let body = try AdminScrape.get(host: host, port: port, path: "/api/v1/status")
            print(String(decoding: body, as: UTF8.self))
            return
        }
        print(StatusTable.render(try admin.report()), terminator: "")
    }
}

/// `tally top`: the busiest families, refreshed every second.
struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The families with the most lines/s and the most series, every second.",
        usage: "tally top [--once] [--admin HOST:PORT]",
        discussion: """
            tally top            refresh every second until Ctrl-C
            tally top --once     one screen, for scripts and tests
            """)

    @Flag(help: "Print one screen and exit.") var once = false
    @OptionGroup var admin: AdminOptions

    func run() throws {
        while true {
            let screen = StatusTable.top(try admin.report())
            if once {
                print(screen, terminator: "")
                return
            }
            print("\u{1B}[H\u{1B}[2J" + screen, terminator: "")
            fflush(nil)
            sleep(1)
        }
    }
}

/// Plain-text renderings of a `StatusReport`, at most 80 columns wide.
enum StatusTable {
    static func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? String(s.prefix(n)) : s + String(repeating: " ", count: n - s.count)
    }

    static func lpad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s : String(repeating: " ", count: n - s.count) + s
    }

    /// A column at least `minimum` wide and wider than its longest text by a gap of two
    /// (services.market_data_service, 28 characters, ran into the next column).
    static func column(_ minimum: Int, _ texts: [String]) -> Int {
        max(minimum, (texts.map(\.count).max() ?? 0) + 2)
    }

    static func num(_ v: Double) -> String { v >= 100 ? String(Int(v.rounded())) : String((v * 10).rounded() / 10) }

    static func render(_ r: StatusReport) -> String {
        var out = "tallyd \(r.version)  \(r.ready ? "ready" : "NOT READY")  up \(Int(r.uptimeSeconds))s  "
        out += "\(num(r.linesPerSecond)) lines/s  \(num(r.rejectsPerSecond)) rejects/s\n\n"
        let serviceWidth = column(22, r.services.map(\.name))
        out += pad("SERVICE", serviceWidth) + pad("STATE", 6) + lpad("LAST", 8) + lpad("LINES/S", 10) + lpad("REJ/S", 8)
        out += lpad("SERIES", 9) + lpad("LIMIT", 7) + "\n"
        for s in r.services {
            let last = s.lastLineAgeSeconds.map { "\(Int($0))s" } ?? "never"
            out +=
                pad(s.name, serviceWidth) + pad(s.up ? "up" : "down", 6) + lpad(last, 8)
                + lpad(num(s.linesPerSecond), 10)
            out += lpad(num(s.rejectsPerSecond), 8) + lpad(String(s.series), 9)
            out += lpad("\(Int((s.seriesShare * 100).rounded()))%", 7) + "\n"
        }
        out += "\nREFUSED (last 5 min / total)\n"
        if r.refusals.isEmpty { out += "  none\n" }
        for f in r.refusals {
            out += "  " + pad(f.reason, 20) + lpad("\(f.lastFiveMinutes)", 8) + " / " + "\(f.total)\n"
            if let e = f.example { out += "    e.g. " + String(e.prefix(70)) + "\n" }
        }
        out += "\nLISTENERS\n"
        let listenerWidth = column(28, r.listeners.map(\.listener))
        let protocolWidth = column(6, r.listeners.map(\.protocol))
        for l in r.listeners {
            out += "  " + pad(l.listener, listenerWidth) + pad(l.protocol, protocolWidth) + l.address + "\n"
        }
        for d in r.kernelDrops where d.drops > 0 { out += "  kernel dropped \(d.drops) datagrams on UDP \(d.port)\n" }
        out += "\nCONFIG  \(r.reload.configPath ?? "embedded default"): "
        if r.reload.lastAttemptTime == nil {
            out += "not reloaded since start\n"
        } else {
            out += "last reload \(r.reload.lastSuccessful ? "applied" : "FAILED") "
            out += "(\(r.reload.successes) applied, \(r.reload.failures) failed): \(r.reload.message)\n"
        }
        if let s = r.state {
            out += "STATE   \(s.path): " + (s.ageSeconds.map { "saved \(Int($0))s ago" } ?? "not saved yet")
            out += ", \(s.failures) failed saves\n"
        }
        return out
    }

    static func top(_ r: StatusReport) -> String {
        var out = "tallyd \(r.version): \(num(r.linesPerSecond)) lines/s over the last \(Int(r.rateWindowSeconds))s\n\n"
        out += pad("FAMILY", 50) + lpad("LINES/S", 12) + "\n"
        if r.topFamiliesByRate.isEmpty { out += "  (no lines in the window)\n" }
        for f in r.topFamiliesByRate { out += pad(f.family, 50) + lpad(num(f.linesPerSecond ?? 0), 12) + "\n" }
        out += "\n" + pad("SERVICE / FAMILY", 50) + lpad("LINES/S", 12) + "\n"
        let busiest = r.services.flatMap { s in s.topFamiliesByRate.map { (s.name, $0) } }
            .sorted { ($0.1.linesPerSecond ?? 0) > ($1.1.linesPerSecond ?? 0) }.prefix(10)
        for (service, f) in busiest {
            out += pad("\(service) / \(f.family)", 50) + lpad(num(f.linesPerSecond ?? 0), 12) + "\n"
        }
        out += "\n" + pad("SERVICE / FAMILY", 50) + lpad("SERIES", 12) + "\n"
        let rows = r.services.flatMap { s in s.topFamiliesBySeries.map { (s.name, $0) } }
            .sorted { ($0.1.series ?? 0) > ($1.1.series ?? 0) }.prefix(10)
        if rows.isEmpty { out += "  (no series)\n" }
        for (service, f) in rows { out += pad("\(service) / \(f.family)", 50) + lpad(String(f.series ?? 0), 12) + "\n" }
        return out
    }
}
