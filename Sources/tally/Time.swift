import ArgumentParser
import CTallyNet
import TallyCore
import TallySystem

#if canImport(Glibc)
    import Glibc
#endif

/// `tally time NAME -- CMD [ARGS...]`: runs a command and observes how long it took.
///
/// The command owns the terminal: stdin, stdout and stderr are its own, untouched; SIGINT,
/// SIGTERM and SIGHUP are forwarded to it; `tally` exits with its status (128+N when signal N
/// ended it). Metrics never change that: a line tallyd would refuse, or a target that cannot be
/// reached, is a warning on stderr, and the command runs all the same.
struct Time: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command and observe its wall time in seconds.",
        usage: "tally time NAME [--status-label L] [-t k=v]... [options] -- CMD [ARG]...",
        discussion: """
            tally time backup_duration_seconds --service risk_manager -- \\
              pg_dump -f /backups/db.sql trading
            tally time data_collection_duration_seconds -t collector_name=nightly \\
              -t source=binance --service market_data_service -- ./collect.sh
            tally time job_seconds --status-label status -- make -C /srv/etl
            Exits with the command's status; metrics problems only warn.
            """)

    @Argument(help: "A seconds family (or an undocumented name: it lands in NAME_seconds).") var name: String
    @Option(help: ArgumentHelp("Add the exit status as this label.", valueName: "label")) var statusLabel: String?
    @OptionGroup var options: MetricOptions
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the command after --: tally time NAME -- CMD") }
    }

    func run() throws {
        // Check what can be checked before the command runs; a problem is only a warning.
        let started = MonotonicClock.now()
        let status = Self.run(command)
        let elapsed = MonotonicClock.now() - started
        if status < 0 {
            StandardError.print("tally: cannot run \(command[0]): \(String(cString: strerror(errno)))")
            throw ExitCode(127)
        }
        var extra: [(key: String, value: String)] = []
        if let statusLabel { extra.append((statusLabel, String(status))) }
        do {
            let line = try options.line(name, String(elapsed * 1000), type: "ms", extraTags: extra)
            let text = try line.text()
            if let problem = try options.problem(text) {
                StandardError.print("tally: warning: \(problem)")
            } else {
                try options.send(text)
            }
        } catch let exit as ExitCode {
            _ = exit  // the message is out already; the command's status stands
        } catch {
            StandardError.print("tally: warning: not sent: \(error)")
        }
        throw ExitCode(Int32(status))
    }

    /// The command's exit status as a shell reports it, or -1 (errno set) if it did not start.
    static func run(_ command: [String]) -> Int {
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) }
        argv.append(nil)
        defer { for p in argv { free(p) } }
        return Int(tally_run_forwarding(argv))
    }
}
