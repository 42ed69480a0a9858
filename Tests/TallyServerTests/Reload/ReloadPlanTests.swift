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

    /// Keys that only apply at start are named (each under its own key), and what runs keeps
    /// the old value for them while taking the live settings.
    @Test func restartKeysAreNamedAndTheRunningConfigKeepsThem() throws {
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
        #expect(
            plan.restart == [
                "ingest", "services", "default_service", "ingest limits", "drop_client_telemetry", "state_interval",
            ])
        #expect(plan.running.config.services == old.config.services)
        #expect(plan.running.config.defaultService == nil)
        #expect(plan.running.config.stateInterval == old.config.stateInterval)
        #expect(plan.running.config.logLevel == .debug)
        #expect(
            plan.summary(catalogue: nil).hasSuffix(
                "restart tallyd to apply: ingest, services, default_service, ingest limits, drop_client_telemetry, state_interval"
            ))
    }

    @Test func stateFileAndAdminAreRestartKeys() throws {
        let plan = ReloadPlan(
            old: try Self.loaded(""), new: try Self.loaded("state_file: /tmp/x\nadmin: {port: 19102}\n"))
        #expect(plan.restart == ["admin", "state_file"])
    }
}
