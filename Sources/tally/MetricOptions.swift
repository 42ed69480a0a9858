import ArgumentParser
import TallyCore
import TallySystem

#if canImport(Glibc)
    import Glibc
#endif

/// What every metric subcommand shares: labels, service, sample rate, where to send, and the
/// local check against the catalogue.
struct MetricOptions: ParsableArguments {
    @Option(name: .customShort("t"), help: ArgumentHelp("A label, key=value (repeatable).", valueName: "key=value"))
    var tag: [String] = []

    @Option(
        help: ArgumentHelp("The service (else TALLY_SERVICE, else a <service>. prefix in NAME).", valueName: "name"))
    var service: String?

    @Option(help: ArgumentHelp("Sample rate in (0, 1]: tallyd scales by 1/rate.", valueName: "rate"))
    var sampleRate: Double?

    @Option(help: ArgumentHelp("Check against this catalogue instead of the embedded one.", valueName: "file"))
    var catalogue: String?

    @Flag(help: "Send without checking the line against the catalogue first.")
    var noValidate = false

    @OptionGroup var target: TargetOptions

    /// `--service`, else `TALLY_SERVICE` (empty = unset).
    var resolvedService: String? {
        if let service { return service }
        guard let raw = getenv("TALLY_SERVICE"), raw.pointee != 0 else { return nil }
        return String(cString: raw)
    }

    /// The line for `name`, `value` and `type` with these options.
    func line(_ name: String, _ value: String, type: String, extraTags: [(key: String, value: String)] = [])
        throws -> MetricLine
    {
        var tags: [(key: String, value: String)] = []
        do {
            for t in tag { tags.append(try MetricLine.tag(t)) }
        } catch {
            throw CleanExit.failure(code: 2, "tally: \(error)")
        }
        return MetricLine(
            name: name, value: value, type: type, tags: tags + extraTags, service: resolvedService,
            sampleRate: sampleRate)
    }

    /// Checks `line` (unless `--no-validate`) and sends it. A refusal exits 2 with tallyd's own
    /// reason and message, and sends nothing; a send error exits 1 naming the target.
    func checkAndSend(_ line: MetricLine) throws {
        let text: String
        do {
            text = try line.text()
        } catch {
            throw CleanExit.failure(code: 2, "tally: \(error)")
        }
        if let refusal = try problem(text) { throw CleanExit.failure(code: 2, "tally: \(refusal)") }
        if !noValidate && LocalCheck.namesNoService(text, service: resolvedService) {
            StandardError.print(LocalCheck.noServiceWarning(text))
        }
        try send(text)
    }

    /// tallyd's refusal of `text` as one line, or nil.
    func problem(_ text: String) throws -> String? {
        guard !noValidate else { return nil }
        let catalogue = try LocalCheck.catalogue(self.catalogue)
        guard let r = LocalCheck.refusal(of: text, service: resolvedService, catalogue: catalogue) else { return nil }
        return
            "\(LocalCheck.describe(r)): \(text) "
            + "(nothing sent; --no-validate sends anyway)"
    }

    func send(_ text: String) throws {
        let address = try target.address()
        do {
            let connection = try Connection(address)
            try connection.send(Array((address.isDatagram ? text : text + "\n").utf8))
        } catch let error as AddressError {
            throw CleanExit.sendFailure(address, error)
        }
    }
}

/// Ends a command with one line on stderr and an exit code (ArgumentParser would print
/// "Error:" and the usage; a script wants one line it can log).
enum CleanExit {
    static func failure(code: Int32, _ message: String) -> ExitCode {
        StandardError.print(message)
        return ExitCode(code)
    }

    /// A send error: exit 1, one line naming the target.
    static func sendFailure(_ address: TallyAddress, _ error: AddressError) -> ExitCode {
        failure(code: 1, "tally: cannot send to \(address): \(error.message)")
    }
}
