import Testing

@testable import TallyCore

/// The one host:port parser (config listeners and the `tally` CLI) and the one duration parser.
@Suite struct HostPortTests {
    @Test func parsesHostsAndBrackets() throws {
        #expect(try HostPort.parse("127.0.0.1:8125", allowAnyPort: false) == HostPort(host: "127.0.0.1", port: 8125))
        #expect(try HostPort.parse("[::1]:9102", allowAnyPort: false) == HostPort(host: "::1", port: 9102))
        #expect(try HostPort.parse("localhost:1", allowAnyPort: false).host == "localhost")
        #expect(HostPort(host: "::1", port: 1).description == "[::1]:1")
    }

    /// Port 0 is "any free port" for a listener, and no port at all for a sender.
    @Test func portZeroOnlyForListeners() throws {
        #expect(try HostPort.parse("127.0.0.1:0", allowAnyPort: true).port == 0)
        #expect(throws: HostPort.ParseError(message: "'127.0.0.1:0' is not host:port with a port in 1-65535")) {
            try HostPort.parse("127.0.0.1:0", allowAnyPort: false)
        }
    }

    @Test(arguments: ["8125", ":8125", "host:", "host:x", "host:65536", "[::1]8125", "host:-1"])
    func refuses(text: String) {
        #expect(throws: HostPort.ParseError.self) { try HostPort.parse(text, allowAnyPort: true) }
    }

    @Test func durations() {
        #expect(DurationText.seconds("500ms") == 0.5)
        #expect(DurationText.seconds(" 30s ") == 30)
        #expect(DurationText.seconds("5m") == 300)
        #expect(DurationText.seconds("1h") == 3600)
        #expect(DurationText.seconds("2.5") == 2.5)
        #expect(DurationText.seconds("0") == 0)
        for bad in ["", "s", "-1s", "1d", "nan", "inf", "1 h x"] { #expect(DurationText.seconds(bad) == nil, "\(bad)") }
    }
}
