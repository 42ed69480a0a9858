import Testing

@testable import TallyCore

@Suite struct ExpiryTests {
    @Test func seriesExpireAfterTheirTTLAndFreeTheirPlace() {
        let h = Harness(limits: Limits(families: ["position_pnl_usd": 1], ttl: 10))
        h.send("position_pnl_usd:5|g|#service:risk_manager,position_id:p1,symbol:X", now: 1000)
        h.send("position_pnl_usd:5|g|#service:risk_manager,position_id:p2,symbol:X", now: 1000)
        #expect(h.reasons == [.cardinalityLimit])
        #expect(h.registry.sweep(now: 1009) == 0)
        #expect(h.value("risk_manager", "position_pnl_usd{position_id=\"p1\",symbol=\"X\"}") == 5)
        #expect(h.registry.sweep(now: 1011) == 1)
        #expect(h.value("risk_manager", "position_pnl_usd{position_id=\"p1\",symbol=\"X\"}") == nil)
        #expect(h.registry.expiredSeries == 1)
        // Its place under the family limit is free again.
        h.send("position_pnl_usd:7|g|#service:risk_manager,position_id:p2,symbol:X", now: 1012)
        #expect(h.reasons == [.cardinalityLimit])
        #expect(h.value("risk_manager", "position_pnl_usd{position_id=\"p2\",symbol=\"X\"}", now: 1012) == 7)
    }

    @Test func anUpdateKeepsASeriesAlive() {
        let h = Harness(limits: Limits(ttl: 10))
        h.send("risk_manager.jobs:1|c", now: 1000)
        h.send("risk_manager.jobs:1|c", now: 1008)
        h.registry.sweep(now: 1015)
        #expect(h.value("risk_manager", "jobs_total") == 2)
        h.registry.sweep(now: 1019)
        #expect(h.value("risk_manager", "jobs_total") == nil)
    }

    @Test func perFamilyTTLOverridesAndServiceGaugesNeverExpire() {
        let h = Harness(limits: Limits(ttl: 10, familyTTL: ["jobs_total": 0, "db_connections_total": 100]))
        h.send(
            "risk_manager.jobs:1|c\nrisk_manager.other:1|c\ndb_connections_total:3|g|#service:risk_manager", now: 1000)
        h.send("service_up:1|g|#service:risk_manager", now: 1000)
        h.registry.sweep(now: 1050)
        let text = h.render("risk_manager", now: 1050)
        #expect(text.contains("jobs_total 1"))
        #expect(!text.contains("other_total"))
        #expect(text.contains("db_connections_total{service_name=\"risk_manager\"} 3"))
        #expect(Limits(ttl: 1).ttl(family: "service_info") == 0)
        #expect(Limits(ttl: 1).ttl(family: "service_up") == 0)
    }

    @Test func noTTLMeansNothingExpires() {
        let h = Harness()
        h.send("risk_manager.jobs:1|c", now: 1000)
        #expect(h.registry.sweep(now: 1_000_000) == 0)
        #expect(h.value("risk_manager", "jobs_total") == 1)
    }
}
