import Testing

@testable import TallyCore

/// Cardinality limits: new series past a limit are refused, existing ones keep updating.
@Suite struct CardinalityTests {
    func pnl(_ id: Int, service: String = "risk_manager") -> String {
        "position_pnl_usd:\(id)|g|#service:\(service),position_id:p\(id),symbol:BTC"
    }

    @Test func perFamilyLimitRefusesNewSeriesAndNamesTheBusiestLabel() {
        let h = Harness(limits: Limits(maxSeriesPerFamily: 3))
        for i in 0..<5 { h.send(pnl(i)) }
        #expect(h.stats.rejected(.cardinalityLimit) == 2)
        let detail = h.rejections.withLock { $0.first?.detail } ?? ""
        #expect(detail.contains("position_pnl_usd"))
        #expect(detail.contains("label 'position_id' has the most distinct values (3)"))
        // Existing series still update; other services have their own budget.
        h.send("position_pnl_usd:99|g|#service:risk_manager,position_id:p0,symbol:BTC")
        #expect(h.value("risk_manager", #"position_pnl_usd{position_id="p0",symbol="BTC"}"#) == 99)
        h.send(pnl(7, service: "order_executor"))
        #expect(h.stats.rejected(.cardinalityLimit) == 2)
    }

    @Test func perFamilyOverrideAndPerServiceLimit() {
        let h = Harness(
            limits: Limits(maxSeriesPerFamily: 2, maxSeriesPerService: 4, families: ["position_pnl_usd": 10]))
        for i in 0..<6 { h.send(pnl(i)) }
        #expect(h.stats.rejected(.cardinalityLimit) == 2)  // the service limit (4), not the family's (10)
        let details = h.rejections.withLock { $0.map(\.detail) }
        #expect(details.allSatisfy { $0.contains("max_series_per_service") })
    }

    /// An undocumented family's first refusal names the label by name (it was "label #1"), and
    /// it is logged even when another family's refusal took this second's log line.
    @Test func theFirstRefusalOfAnUndocumentedFamilyNamesTheLabelAndIsAlwaysLogged() {
        // The daemon's log limit: one line per reason per second (every line here is at t=1000).
        let h = Harness(limits: Limits(families: ["logins_total": 2, "position_pnl_usd": 1]), logInterval: 1)
        h.send(pnl(1))
        h.send(pnl(2))  // position_pnl_usd's first refusal: logged
        for user in ["ann", "bob", "cat"] { h.send("risk_manager.logins:1|c|#region:eu,user:\(user)") }
        #expect(h.stats.rejected(.cardinalityLimit) == 2)
        let details = h.rejections.withLock { $0.map(\.detail) }
        #expect(details.count == 2, "\(details)")
        #expect(details.last?.contains("'logins_total' of 'risk_manager' holds 2 series") == true)
        #expect(details.last?.contains("label 'user' has the most distinct values (2)") == true, "\(details)")
        // The next refusals of the same family within the second are held back as before.
        h.send("risk_manager.logins:1|c|#region:eu,user:dan")
        #expect(h.rejections.withLock { $0.count } == 2, "\(h.rejections.withLock { $0.map(\.detail) })")
    }
}

/// `limits.families` may name an undocumented counter as it is sent or as it is exposed.
@Suite struct FamilyLimitNameTests {
    @Test(arguments: ["logins", "logins_total"])
    func eitherSpellingOfAnUndocumentedCounterMatches(_ key: String) {
        let h = Harness(limits: Limits(families: [key: 1]))
        h.send("risk_manager.logins:1|c|#user:a")
        h.send("risk_manager.logins:1|c|#user:b")
        #expect(h.reasons == [.cardinalityLimit])
    }
}
