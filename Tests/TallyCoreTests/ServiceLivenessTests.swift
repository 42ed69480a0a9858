import Testing

@testable import TallyCore

@Suite struct ServiceLivenessTests {
    let up = #"service_up{service_name="order_executor"}"#
    let start = #"service_start_time{service_name="order_executor"}"#

    /// Liveness runs on the monotonic clock the lines come with; the start time is shown as
    /// wall time: monotonic time plus the registry's wall-clock offset.
    @Test func theStartTimeIsWallTimeAndLivenessIgnoresTheOffset() {
        let h = Harness(heartbeat: 30)
        h.registry.services.wallOffset.set(1_700_000_000)
        h.send("order_executor.something:1|c", now: 100)
        #expect(h.value("order_executor", start, now: 100) == 1_700_000_100)
        // A wall-clock step moves the offset, not the heartbeat: still up 29 s later, down after 30.
        h.registry.services.wallOffset.set(1_700_007_200)
        #expect(h.value("order_executor", up, now: 129) == 1)
        #expect(h.value("order_executor", up, now: 130.5) == 0)
        #expect(h.value("order_executor", start, now: 129) == 1_700_000_100)
    }

    @Test func downBeforeFirstEventUpAfterDownAfterSilence() {
        let h = Harness(heartbeat: 30)
        #expect(h.value("order_executor", up, now: 100) == 0)
        #expect(h.value("order_executor", start, now: 100) == nil)
        h.send("order_executor.something:1|c", now: 100)
        #expect(h.value("order_executor", up, now: 100) == 1)
        #expect(h.value("order_executor", start, now: 100) == 100)
        #expect(h.value("order_executor", up, now: 130) == 1)
        #expect(h.value("order_executor", up, now: 130.5) == 0)
        // Back after silence: a new start time.
        h.send("order_executor.something:1|c", now: 200)
        #expect(h.value("order_executor", up, now: 200) == 1)
        #expect(h.value("order_executor", start, now: 200) == 200)
        // Every other service stays down.
        #expect(h.value("strategy_service", #"service_up{service_name="strategy_service"}"#, now: 200) == 0)
    }

    @Test func rejectedLinesStillProveTheServiceIsAlive() {
        let h = Harness()
        h.send("order_executor.http_requests_total:1|c", now: 100)  // missing labels
        #expect(h.reasons == [.missingLabel])
        #expect(h.value("order_executor", up, now: 100) == 1)
    }

    @Test func explicitDownHoldsUntilExplicitUp() {
        let h = Harness()
        h.send("service_up:1|g|#service_name:order_executor", now: 100)
        #expect(h.value("order_executor", up, now: 100) == 1)
        h.send("service_up:0|g|#service_name:order_executor", now: 110)
        h.send("order_executor.something:1|c", now: 111)
        #expect(h.value("order_executor", up, now: 111) == 0)
        h.send("service_up:1|g|#service_name:order_executor", now: 120)
        #expect(h.value("order_executor", up, now: 120) == 1)
        #expect(h.value("order_executor", start, now: 120) == 120)
    }

    @Test func serviceOwnStartTimeWins() {
        let h = Harness()
        h.send("service_start_time:1700000000|g|#service:order_executor", now: 100)
        h.send("order_executor.something:1|c", now: 200)
        #expect(h.value("order_executor", start, now: 200) == 1_700_000_000)
    }
}
