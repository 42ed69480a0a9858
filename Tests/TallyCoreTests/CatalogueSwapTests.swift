import Testing

@testable import TallyCore

@Suite struct CatalogueSwapTests {
    static let swapped = try! Catalogue(families: [
        FamilyDescriptor(
            name: "http_requests_total", type: .counter, help: "Requests (new help).",
            labels: ["method", "path", "status"]),
        FamilyDescriptor(name: "service_up", type: .gauge, help: "Up.", labels: ["service_name"]),
        FamilyDescriptor(name: "position_pnl_usd", type: .gauge, help: "PnL.", labels: ["symbol", "side"]),
        FamilyDescriptor(name: "orders_total", type: .counter, help: "Orders.", labels: ["service_name"]),
    ])

    @Test func unchangedFamiliesKeepTheirSeriesChangedOnesStartOver() {
        let h = Harness()
        h.send("http_requests_total:3|c|#service:risk_manager,method:GET,path:/x,status:200")
        h.send("position_pnl_usd:5|g|#service:risk_manager,position_id:p1,symbol:X")
        h.send("db_connections_total:4|g|#service:risk_manager")
        h.send("risk_manager.jobs:1|c")
        let before = h.registry.families.generation
        let removed = h.registry.replaceCatalogue(Self.swapped, dropLabels: [:], defaultBuckets: [1])
        #expect(removed == 2)  // position_pnl_usd (labels changed), db_connections_total (left the catalogue)
        #expect(h.registry.families.generation == before + 1)
        let text = h.render("risk_manager")
        #expect(text.contains("# HELP http_requests_total Requests (new help)."))
        #expect(text.contains("status=\"200\"} 3"))
        #expect(!text.contains("position_pnl_usd"))
        #expect(!text.contains("db_connections_total"))
        #expect(text.contains("jobs_total 1"))  // undocumented families stay
        // The running ingestor picks the new catalogue up on its next packet.
        h.send("http_requests_total:1|c|#service:risk_manager,method:GET,path:/x,status:200")
        h.send("position_pnl_usd:9|g|#service:risk_manager,symbol:X,side:long")
        h.send("orders_total:2|c|#service:risk_manager")
        #expect(h.reasons == [])
        #expect(h.value("risk_manager", "http_requests_total{method=\"GET\",path=\"/x\",status=\"200\"}") == 4)
        #expect(h.render("risk_manager").contains("position_pnl_usd{symbol=\"X\",side=\"long\"} 9"))
        #expect(h.render("risk_manager").contains("orders_total{service_name=\"risk_manager\"} 2"))
        #expect(h.registry.families.documentedCount == 4)
    }

    @Test func aLineResolvedBeforeTheSwapIsResolvedAgain() {
        let h = Harness()
        h.send("position_pnl_usd:5|g|#service:risk_manager,position_id:p1,symbol:X")
        let old = h.registry.families.generation
        h.registry.replaceCatalogue(Self.swapped, dropLabels: [:], defaultBuckets: [1])
        var key: [UInt8] = [0, 0, 0, 0] + Array("p1\0X\0".utf8)
        var hint = SeriesHint()
        let refusal = key.withUnsafeMutableBytes { k in
            [SampleUpdate.set(1)].withUnsafeBufferPointer { u in
                h.registry.apply(
                    service: 1, family: 0, key: UnsafeRawBufferPointer(k),
                    hash: ByteHash.hash(UnsafeRawBufferPointer(k)),
                    width: 1, generation: old, stamp: 0, u, hint: &hint)
            }
        }
        #expect(refusal == .stale)
        #expect(h.registry.seriesCounts()[1] == 0)
    }

    @Test func freedPlacesCountForTheLimits() {
        let h = Harness(limits: Limits(maxSeriesPerService: 2))
        h.send("position_pnl_usd:5|g|#service:risk_manager,position_id:p1,symbol:X")
        h.send("position_pnl_usd:5|g|#service:risk_manager,position_id:p2,symbol:X")
        h.registry.replaceCatalogue(Self.swapped, dropLabels: [:], defaultBuckets: [1])
        h.send(
            "position_pnl_usd:1|g|#service:risk_manager,symbol:X,side:long\nposition_pnl_usd:1|g|#service:risk_manager,symbol:X,side:short"
        )
        #expect(h.reasons == [])
    }
}
