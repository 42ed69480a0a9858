import Testing

@testable import TallyCore

/// Sets, expiry, drop_labels and duplicate tags: what `limits` does to series over time.
@Suite struct SetTests {
    @Test func aSetCountsDistinctMembers() {
        let h = Harness()
        h.send("risk_manager.visitors:alice|s\nrisk_manager.visitors:bob|s\nrisk_manager.visitors:alice|s")
        h.send("risk_manager.visitors:carol:dave:bob|s")
        #expect(h.reasons == [])
        #expect(h.render("risk_manager").contains("# TYPE visitors gauge"))
        #expect(h.value("risk_manager", "visitors") == 4)
    }

    @Test func aDocumentedGaugeTakesSetsToo() {
        let h = Harness()
        h.send("db_connections_total:c1|s|#service:order_executor\ndb_connections_total:c2|s|#service:order_executor")
        #expect(h.value("order_executor", "db_connections_total{service_name=\"order_executor\"}") == 2)
    }

    @Test func membersLeaveTheWindow() {
        let h = Harness(limits: Limits(setWindow: 60))
        h.send("risk_manager.visitors:alice|s", now: 1000)
        h.send("risk_manager.visitors:bob|s", now: 1030)
        h.registry.sweep(now: 1050)
        #expect(h.value("risk_manager", "visitors") == 2)
        h.registry.sweep(now: 1070)  // alice last seen 70 s ago
        #expect(h.value("risk_manager", "visitors") == 1)
        h.send("risk_manager.visitors:alice|s", now: 1071)
        #expect(h.value("risk_manager", "visitors") == 2)
        h.registry.sweep(now: 1200)
        #expect(h.value("risk_manager", "visitors") == 0)
    }

    @Test func aFullSetRefusesNewMembersAndKeepsCounting() {
        let h = Harness(limits: Limits(setMaxValues: 3))
        h.send("risk_manager.visitors:a:b:c|s")
        h.send("risk_manager.visitors:d|s\nrisk_manager.visitors:a|s")
        #expect(h.reasons == [.setOverflow])
        #expect(h.stats.rejected(.setOverflow) == 1)
        #expect(h.value("risk_manager", "visitors") == 3)
        #expect(h.rejections.withLock { $0[0].detail.contains("set_max_values") })
    }
}
