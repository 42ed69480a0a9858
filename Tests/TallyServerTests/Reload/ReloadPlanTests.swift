import Testing

@testable import TallyServer

/// What a reload applies, swaps or leaves for a restart, from two configs alone.
@Suite struct ReloadPlanTests {
    static func loaded(_ yaml: String) throws -> LoadedConfig {
        try LoadedConfig(TallyConfig.parse(yaml: yaml.isEmpty ? "log_level: info\n" : yaml, source: "t.yaml"))
    }

    @Test func nothingChangedAppliesNothing() throws {
        let old = try Self.loaded("")
        let plan = ReloadPlan(old: old, new: old)
        #expect(plan.logLevel == nil && plan.limits == nil && !plan.swapCatalogue && plan.restart.isEmpty)
        #expect(plan.summary(catalogue: nil) == "reloaded; nothing changed that applies live")
        #expect(plan.running == old)
    }

    @Test func liveSettingsApply() throws {
        let plan = ReloadPlan(
            old: try Self.loaded(""),
            new: try Self.loaded(
                "log_level: debug\nheartbeat_timeout: 5s\nunknown_families: reject\nlimits: {max_series_per_family: 10}\n"
            ))
        #expect(plan.logLevel == .debug)
        #expect(plan.heartbeatTimeout == 5)
        #expect(plan.unknownFamilies == .reject)
        #expect(plan.limits?.maxSeriesPerFamily == 10)
        #expect(plan.restart.isEmpty)
        #expect(
            plan.summary(catalogue: nil)
                == "reloaded; applied log_level=debug, heartbeat_timeout=5.0s, unknown_families=reject, limits")
    }

    @Test func dropLabelsAndBucketsSwapTheCatalogue() throws {
        let old = try Self.loaded("")
        #expect(ReloadPlan(old: old, new: try Self.loaded("default_buckets: [1, 2]\n")).swapCatalogue)
        let dropped = try Self.loaded("limits: {families: {orders_placed_total: {drop_labels: [symbol]}}}\n")
        let plan = ReloadPlan(old: old, new: dropped)
        #expect(plan.swapCatalogue)
        #expect(plan.summary(catalogue: "catalogue (45 families)").contains("applied catalogue (45 families), limits"))
    }

    /// Listeners, services and ingest settings apply live now; what runs afterwards is the new
    /// config.
    @Test func listenersServicesAndIngestSettingsApplyLive() throws {
        let old = try Self.loaded("")
        let new = try Self.loaded(
            """
            log_level: debug
            services: {risk_manager: {port: 18002}}
            default_service: risk_manager
            state_interval: 5s
            drop_client_telemetry: false
            ingest: {tcp: ["127.0.0.1:18125"], max_line_length: 1024}
            """)
        let plan = ReloadPlan(old: old, new: new)
        #expect(plan.restart.isEmpty)
        #expect(plan.listeners && plan.services && plan.ingestSettings && plan.stateFile)
        #expect(plan.running.config == new.config)
        #expect(
            plan.summary(catalogue: nil, listeners: ["bound tcp:127.0.0.1:18125"]).hasPrefix(
                "reloaded; applied log_level=debug, bound tcp:127.0.0.1:18125, ingest settings"))
    }

    /// Only turning the saved state on or off needs a restart (its service is part of the
    /// daemon's shape); moving it or changing the interval applies live.
    @Test func onlyTurningTheSavedStateOnOrOffNeedsARestart() throws {
        let off = try Self.loaded("")
        let on = try Self.loaded("state_file: /tmp/x\n")
        let plan = ReloadPlan(old: off, new: on)
        #expect(plan.restart == ["state_file"])
        #expect(plan.running.config.stateFile == nil)
        let moved = ReloadPlan(old: on, new: try Self.loaded("state_file: /tmp/y\nstate_interval: 5s\n"))
        #expect(moved.restart.isEmpty && moved.stateFile)
        #expect(moved.summary(catalogue: nil).contains("state_file/state_interval"))
    }
}
