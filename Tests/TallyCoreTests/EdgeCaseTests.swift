import Testing

@testable import TallyCore

/// The edge cases the dialect issue lists, each through the whole ingest path.
@Suite struct EdgeCaseTests {
    @Test func emptyLinesAndBlanksAreNotLines() {
        let h = Harness()
        h.send("\n\n  \n\r\n\t\n")
        #expect(h.stats.lines == 0 && h.stats.rejectedTotal == 0)
        h.send("  risk_manager.x:1|c \r\n\trisk_manager.x:2|c\t\n")
        #expect(h.reasons == [])
        #expect(h.value("risk_manager", "x_total") == 3)
    }

    @Test(arguments: [
        ("risk_manager.x:+3|c", 3.0), ("risk_manager.x:1e3|c", 1000), ("risk_manager.x:.5|c", 0.5),
        ("risk_manager.x:2.5E-1|c", 0.25), ("risk_manager.x:0000.5|c", 0.5),
    ])
    func numbersCountersAccept(_ line: String, _ expected: Double) {
        let h = Harness()
        h.send(line)
        #expect(h.reasons == [])
        #expect(h.value("risk_manager", "x_total") == expected)
    }

    @Test(arguments: [
        ("risk_manager.x:-3|c", RejectReason.invalidValue), ("risk_manager.x:0x1F|c", .invalidValue),
        ("risk_manager.x:1" + String(repeating: "0", count: 400) + "|g", .invalidValue),
        ("risk_manager.x:Infinity|g", .invalidValue), ("risk_manager.x:1|c|@0", .invalidSampleRate),
        ("risk_manager.x:1|c|@2", .invalidSampleRate),
        ("risk_manager." + String(repeating: "n", count: 201) + ":1|c", .nameTooLong),
        ("risk_manager.x:1|c|#k:v\u{0}", .invalidUTF8),
    ])
    func edgeCasesAreRefused(_ line: String, _ reason: RejectReason) {
        let h = Harness()
        h.send(line)
        #expect(h.reasons == [reason])
        #expect(h.registry.seriesCounts().reduce(0, +) == 0)
    }

    @Test func aNameOf200BytesIsFine() {
        let h = Harness()
        let name = String(repeating: "n", count: 200 - "risk_manager.".count)
        h.send("risk_manager.\(name):1|g")
        #expect(h.reasons == [])
        #expect(h.value("risk_manager", name) == 1)
    }

    @Test func tagValuesMayHoldEqualsAndColons() {
        let h = Harness()
        h.send("risk_manager.x:1|c|#url:http://a/b?c=d:e,k:v=w")
        #expect(h.reasons == [])
        #expect(h.value("risk_manager", "x_total{k=\"v=w\",url=\"http://a/b?c=d:e\"}") == 1)
    }

    @Test func unicodeLabelValuesAreAcceptedAndEscaped() {
        let h = Harness()
        h.send("risk_manager.x:1|c|#who:ünï \"q\" \\ ✓")
        #expect(h.reasons == [])
        #expect(h.value("risk_manager", "x_total{who=\"ünï \\\"q\\\" \\\\ ✓\"}") == 1)
    }

    @Test func invalidUTF8IsRefusedPerLine() {
        let h = Harness()
        h.sendBytes(Array("risk_manager.x:1|c|#k:".utf8) + [0xC3, 0x28] + Array("\nrisk_manager.y:1|c".utf8))
        #expect(h.reasons == [.invalidUTF8])
        #expect(h.value("risk_manager", "y_total") == 1)
    }
}
