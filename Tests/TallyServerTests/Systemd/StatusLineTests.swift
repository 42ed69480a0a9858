import Testing

@testable import TallyServer

/// The `STATUS=` line systemd shows.
@Suite struct StatusLineTests {
    @Test func readyNamesSeriesAndLinesSoFar() {
        #expect(
            StatusLine.ready(series: 12, .init(lines: 40, rejected: 1, at: 3)) == "ready, 12 series, 40 lines so far")
    }

    @Test func ratesAreDifferencesOverTheInterval() {
        let before = StatusLine.Sample(lines: 1000, rejected: 10, at: 100)
        let after = StatusLine.Sample(lines: 6000, rejected: 20, at: 105)
        #expect(StatusLine.rates(series: 7, from: before, to: after) == "1000 lines/s, 7 series, 2 rejects/s")
    }

    /// Two samples at the same instant must not divide by zero.
    @Test func aZeroIntervalIsNotADivisionByZero() {
        let s = StatusLine.Sample(lines: 5, rejected: 0, at: 1)
        #expect(StatusLine.rates(series: 0, from: s, to: s) == "0 lines/s, 0 series, 0 rejects/s")
    }

    @Test func theSampleSumsEveryLoop() throws {
        let registry = try LoadedConfig(TallyConfig.embeddedDefault()).makeRegistry(now: 0)
        let ingestors = IngestorFactory(registry: registry, config: .embeddedDefault(), logger: .init(label: "t"))
        for _ in 0..<2 {
            let ingestor = ingestors.make(transport: "udp")
            Array("x:1|c|#service:risk_manager\nbad".utf8).withUnsafeBytes { ingestor.ingest(packet: $0, now: 1) }
        }
        let sample = StatusLine.sample(registry, at: 9)
        #expect(sample == .init(lines: 4, rejected: 2, at: 9))
    }
}
