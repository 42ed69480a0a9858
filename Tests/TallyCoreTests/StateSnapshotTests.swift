import Testing

@testable import TallyCore

/// Saved state: what a restart keeps.
@Suite struct StateSnapshotTests {
    static let traffic = """
        http_requests_total:3|c|#service:risk_manager,method:GET,path:/x,status:200
        http_request_duration_seconds:250|ms|#service:risk_manager,method:GET,path:/x
        http_request_duration_seconds:0.007|h|#service:order_executor,method:POST,path:/o
        http_request_size_bytes:512|h|#service:risk_manager,method:GET,path:/x
        db_connections_total:7|g|#service:strategy_service
        risk_manager.jobs:2|c|#queue:a
        risk_manager.fetch:120|ms
        risk_manager.depth:-4|g
        """

    @Test func aSavedStateRestoresEveryServiceIdentically() throws {
        let a = Harness()
        a.send(Self.traffic)
        #expect(a.reasons == [])
        let bytes = StateSnapshot.encode(a.registry)
        let b = Harness()
        let summary = try StateSnapshot.restore(bytes, into: b.registry, now: 2000)
        #expect(summary == StateSnapshot.Summary(restored: 8, skippedFamily: 0, skippedService: 0, skippedOther: 0))
        for service in testServices {
            // service_up/start_time are liveness, not saved state: compare the rest.
            let strip = { (t: String) in
                t.split(separator: "\n").filter { !$0.contains("service_up") && !$0.contains("service_start_time") }
            }
            #expect(strip(a.render(service)) == strip(b.render(service)))
        }
        // Restored series keep counting where they were.
        b.send(
            "http_requests_total:1|c|#service:risk_manager,method:GET,path:/x,status:200\nrisk_manager.jobs:1|c|#queue:a"
        )
        #expect(b.value("risk_manager", "http_requests_total{method=\"GET\",path=\"/x\",status=\"200\"}") == 4)
        #expect(b.value("risk_manager", "jobs_total{queue=\"a\"}") == 3)
    }

    @Test func setsAreNotSaved() throws {
        let a = Harness()
        a.send("risk_manager.visitors:a:b|s\nrisk_manager.jobs:1|c")
        let b = Harness()
        let summary = try StateSnapshot.restore(StateSnapshot.encode(a.registry), into: b.registry, now: 2000)
        #expect(summary.restored == 1)
        #expect(b.value("risk_manager", "jobs_total") == 1)
        #expect(b.value("risk_manager", "visitors") == nil)
    }

    @Test func seriesThatNoLongerFitAreSkippedAndCounted() throws {
        let a = Harness()
        a.send(Self.traffic)
        let bytes = StateSnapshot.encode(a.registry)
        // Another catalogue (position/http layout changed) and fewer services.
        let catalogue = try Catalogue(families: [
            FamilyDescriptor(name: "http_requests_total", type: .counter, help: "x", labels: ["method", "status"]),
            FamilyDescriptor(name: "db_connections_total", type: .gauge, help: "x", labels: ["service_name"]),
        ])
        let registry = Registry(
            families: FamilyTable(catalogue: catalogue, policy: .accept, defaultBuckets: [0.1, 1, 10]),
            services: ServiceTable(names: ["risk_manager", "order_executor"], heartbeatTimeout: 30))
        let summary = try StateSnapshot.restore(bytes, into: registry, now: 2000)
        // db_connections_total of strategy_service: service gone. http_requests_total: labels
        // changed; the documented histogram and summary left the catalogue (their keys hold
        // documented label values, which an undocumented family cannot read): 1 + 3. The
        // undocumented families come back: 3.
        #expect(summary.skippedService == 1)
        #expect(summary.skippedFamily == 4)
        #expect(summary.restored == 3)
        let text = String(decoding: ExpositionRenderer.render(registry, service: 0, now: 2000), as: UTF8.self)
        #expect(text.contains("jobs_total{queue=\"a\"} 2"))
        #expect(text.contains("fetch_seconds_count 1"))
    }

    @Test func aTruncatedOrForeignFileIsRefusedWithTheReason() {
        let a = Harness()
        a.send(Self.traffic)
        let bytes = StateSnapshot.encode(a.registry)
        #expect(throws: StateSnapshot.FormatError.self) {
            try StateSnapshot.restore(Array(bytes.prefix(bytes.count - 20)), into: Harness().registry, now: 0)
        }
        #expect(throws: StateSnapshot.FormatError.self) {
            try StateSnapshot.restore(Array("# HELP x\n".utf8), into: Harness().registry, now: 0)
        }
        #expect(throws: StateSnapshot.FormatError.self) {
            try StateSnapshot.restore([], into: Harness().registry, now: 0)
        }
    }

    @Test func corruptBytesNeverCrashAndNeverBreakTheExposition() throws {
        let a = Harness()
        a.send(Self.traffic)
        let bytes = StateSnapshot.encode(a.registry)
        var rng = SplitMix64(seed: 20_261_126)
        for _ in 0..<2000 {
            var copy = bytes
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                copy[Int.random(in: 8..<(copy.count - 8), using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            let b = Harness()
            _ = try? StateSnapshot.restore(copy, into: b.registry, now: 0)
            for service in testServices {
                for line in b.render(service).split(separator: "\n") {
                    if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                        let name = String(line.split(separator: " ")[2])
                        #expect(MetricName.isValidMetricName(name), "bad family name: \(line)")
                        continue
                    }
                    // name{labels} value: the name is valid, the value parses.
                    let name = String(line.prefix { $0 != "{" && $0 != " " })
                    #expect(MetricName.isValidMetricName(name), "bad sample name: \(line)")
                    #expect(
                        Double(String(line.split(separator: " ").last!)) != nil || line.hasSuffix("NaN"),
                        "bad value: \(line)")
                }
            }
        }
    }
}
