import Foundation
import Testing

@testable import TallyCore

@Suite struct ExpositionTests {
    @Test func familiesSortedWithHelpAndTypeOnce() {
        let h = Harness()
        h.send("position_pnl_usd:2|g|#service:risk_manager,position_id:b,symbol:S")
        h.send("db_connections_total:1|g|#service:risk_manager")
        h.send("position_pnl_usd:1|g|#service:risk_manager,position_id:a,symbol:S")
        let text = h.render("risk_manager")
        let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE") }
        #expect(
            types == [
                "# TYPE db_connections_total gauge", "# TYPE position_pnl_usd gauge",
                "# TYPE service_start_time gauge", "# TYPE service_up gauge",
            ])
        #expect(text.components("# HELP position_pnl_usd ") == 1)
        let a = text.range(of: #"position_id="a""#)!.lowerBound
        let b = text.range(of: #"position_id="b""#)!.lowerBound
        #expect(a < b)
    }

    @Test func helpIsEscaped() throws {
        let catalogue = try Catalogue(families: [
            FamilyDescriptor(name: "g", type: .gauge, help: "back\\slash\nnewline", labels: [])
        ])
        let registry = Registry(
            families: FamilyTable(catalogue: catalogue, policy: .accept, defaultBuckets: [1]),
            services: ServiceTable(names: ["s"], heartbeatTimeout: 30))
        let ingestor = Ingestor(registry: registry, transport: "t", defaultService: 0, limiter: RejectLogLimiter()) {
            _ in
        }
        var line = "g:1|g"
        line.withUTF8 { ingestor.ingest(packet: UnsafeRawBufferPointer($0), now: 1) }
        let text = String(decoding: ExpositionRenderer.render(registry, service: 0, now: 1), as: UTF8.self)
        #expect(text.contains("# HELP g back\\\\slash\\nnewline\n"))
        #expect(text.contains("\ng 1\n"))
    }

    @Test(arguments: [
        (0.0, "0"), (1.0, "1"), (-3.0, "-3"), (1e15, "1000000000000000.0"), (1e300, "1e+300"), (0.5, "0.5"),
        (0.1, "0.1"),
        (Double.nan, "NaN"), (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"), (123456789.0, "123456789"),
        (1795585953.416656, "1795585953.416656"),
    ])
    func valuesFormatAsPrometheusExpects(_ v: Double, _ expected: String) {
        var w = TextWriter()
        w.value(v)
        #expect(String(decoding: w.bytes, as: UTF8.self) == expected)
    }
}

extension String {
    func components(_ s: String) -> Int {
        var count = 0
        var rest = Substring(self)
        while let r = rest.range(of: s) {
            count += 1
            rest = rest[r.upperBound...]
        }
        return count
    }
}
