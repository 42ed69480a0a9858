import Testing

@testable import TallyCore

@Suite struct DropLabelsTests {
    @Test func aDocumentedLabelIsAggregatedAway() {
        let h = Harness(limits: Limits(dropLabels: ["position_pnl_usd": ["position_id"]]))
        h.send("position_pnl_usd:5|g|#service:risk_manager,position_id:p1,symbol:X")
        h.send("position_pnl_usd:+2|g|#service:risk_manager,position_id:p2,symbol:X")
        #expect(h.reasons == [])
        #expect(h.registry.seriesCounts()[1] == 1)
        #expect(h.value("risk_manager", "position_pnl_usd{symbol=\"X\"}") == 7)
        #expect(h.stats.droppedTags.isEmpty)  // dropped on purpose, not noise
    }

    @Test func anUndocumentedFamilyDropsTagsToo() {
        let h = Harness(limits: Limits(dropLabels: ["jobs_total": ["request_id"]]))
        h.send("risk_manager.jobs:1|c|#request_id:r1,queue:a\nrisk_manager.jobs:1|c|#request_id:r2,queue:a")
        h.send("risk_manager.jobs:1|c|#request.id:r3,queue:a")  // the sanitized name is what is dropped
        #expect(h.value("risk_manager", "jobs_total{queue=\"a\"}") == 3)
    }

    @Test func dropLabelsAreCheckedAgainstTheCatalogue() {
        #expect(FamilyTable.problem(dropLabels: ["position_pnl_usd": ["position_id"]], catalogue: testCatalogue) == nil)
        #expect(
            FamilyTable.problem(dropLabels: ["position_pnl_usd": ["side"]], catalogue: testCatalogue)?.contains(
                "'side' is not a label of position_pnl_usd") == true)
        #expect(
            FamilyTable.problem(dropLabels: ["db_connections_total": ["service_name"]], catalogue: testCatalogue)?
                .contains("service_name cannot be dropped") == true)
        #expect(FamilyTable.problem(dropLabels: ["some_undocumented": ["x"]], catalogue: testCatalogue) == nil)
    }

    @Test func duplicateTagsCountAndTheLastWins() {
        let h = Harness()
        h.send("http_requests_total:1|c|#service:risk_manager,method:GET,method:POST,path:/x,status:200")
        h.send("risk_manager.jobs:1|c|#queue:a,queue:b")
        #expect(h.stats.duplicateTags == 2)
        #expect(h.value("risk_manager", "http_requests_total{method=\"POST\",path=\"/x\",status=\"200\"}") == 1)
        #expect(h.value("risk_manager", "jobs_total{queue=\"b\"}") == 1)
    }
}
