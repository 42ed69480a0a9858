import Testing

@testable import tally

/// The `tally` CLI's pure parts: where it sends, and how long `tally load` runs.
@Suite struct TallyAddressTests {
    @Test(arguments: [
        ("127.0.0.1:8125", TallyAddress.udp(host: "127.0.0.1", port: 8125)),
        ("udp:localhost:9", .udp(host: "localhost", port: 9)),
        ("[::1]:8125", .udp(host: "::1", port: 8125)),
        ("tcp:127.0.0.1:8126", .tcp(host: "127.0.0.1", port: 8126)),
        ("tcp:[::1]:8126", .tcp(host: "::1", port: 8126)),
        ("unix:/run/tally/ingest.sock", .unix(path: "/run/tally/ingest.sock")),
    ])
    func parses(text: String, expected: TallyAddress) throws {
        #expect(try TallyAddress.parse(text) == expected)
    }

    @Test(arguments: [
        ("localhost", "expected host:port, unix:/path or tcp:host:port"),
        ("127.0.0.1:0", "'127.0.0.1:0' is not host:port with a port in 1-65535"),
        ("127.0.0.1:70000", "'127.0.0.1:70000' is not host:port with a port in 1-65535"),
        (":8125", "':8125' is not host:port with a port in 1-65535"),
        ("unix:", "unix: needs a path (unix:/run/tally/ingest.sock)"),
        ("tcp:host", "expected host:port, unix:/path or tcp:host:port"),
    ])
    func refuses(text: String, message: String) {
        #expect(throws: AddressError.self) { try TallyAddress.parse(text) }
        do {
            _ = try TallyAddress.parse(text)
        } catch {
            #expect(error.message == message)
        }
    }

    @Test func descriptionRoundTrips() throws {
        for text in ["127.0.0.1:8125", "[::1]:8125", "tcp:127.0.0.1:1", "unix:/tmp/x.sock"] {
            #expect(try TallyAddress.parse(text).description == text)
        }
    }

    /// Durations: the same spellings as the config (`h` included), but a load must last.
    @Test func loadDurations() {
        #expect(Load.seconds("500ms") == 0.5)
        #expect(Load.seconds("10s") == 10)
        #expect(Load.seconds("2m") == 120)
        #expect(Load.seconds("1h") == 3600)
        #expect(Load.seconds("3") == 3)
        #expect(Load.seconds("0s") == nil)
        #expect(Load.seconds("-1s") == nil)
        #expect(Load.seconds("soon") == nil)
    }
}
