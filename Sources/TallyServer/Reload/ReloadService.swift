import Logging
import ServiceLifecycle
import TallyCore
import TallySystem
import UnixSignals

/// SIGHUP or `POST /-/reload`: re-reads the config (and its catalogue) off to the side and
/// applies what can change while running (`ReloadPlan`); an invalid file keeps the running
/// config and says why. Reloads run one at a time, in this service's own task, so the running
/// config needs no lock.
struct ReloadService: Service {
    /// Trapped before the saved state is restored: SIGHUP's default action ends the process.
    let hangups: UnixSignalsSequence
    /// `POST /-/reload` on the admin endpoint.
    let requests: ReloadRequests
    let stats: ReloadStats
    /// Re-reads the config file; nil when running the embedded default.
    let load: (@Sendable () throws -> TallyConfig)?
    let initial: LoadedConfig
    let registry: Registry
    let live: LiveListeners
    let directory: ListenerDirectory
    let tcpSettings: TCPSettings
    let serving: HTTPServing
    let remoteWrite: RemoteWriteService
    let state: StateStore?
    let logger: Logger

    func run() async throws {
        let requests = self.requests
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in hangups.cancelOnGracefulShutdown() { requests.submit { _ in } }
                requests.finish()
            }
            var running = initial
            for await request in requests.stream.cancelOnGracefulShutdown() {
                let (next, outcome) = await reload(running)
                running = next
                request.reply(outcome)
            }
            requests.finish()
            group.cancelAll()
        }
    }

    /// One reload; returns what runs afterwards and what to answer. Nothing changes unless the
    /// whole new config loaded and every new listener bound.
    func reload(_ running: LoadedConfig) async -> (LoadedConfig, ReloadRequests.Outcome) {
        Systemd.notify("RELOADING=1\nMONOTONIC_USEC=\(MonotonicClock.microseconds())")
        let started = MonotonicClock.now()
        var result = running
        let outcome: ReloadRequests.Outcome
        if let load {
            do {
                let new = try LoadedConfig(try load())
                for warning in new.warnings { logger.warning("reload: \(warning)") }
                let plan = ReloadPlan(old: running, new: new)
                let change = plan.listeners ? try await live.prepare(from: running.config, to: new.config) : nil
                let summary = await apply(plan, new: new, change: change)
                result = plan.running
                let ms = Int(((MonotonicClock.now() - started) * 1000).rounded())
                outcome = .init(ok: true, message: summary + " (\(ms) ms)")
                logger.notice("reload: \(outcome.message)")
            } catch {
                outcome = .init(ok: false, message: "reload failed, keeping the running config: \(error)")
                logger.error("\(outcome.message)")
            }
        } else {
            outcome = .init(ok: true, message: "reload: running the embedded default config, nothing to re-read")
            logger.notice("\(outcome.message)")
        }
        stats.record(outcome)
        Systemd.notify("READY=1\nSTATUS=\(outcome.message)")
        return (result, outcome)
    }

    private func apply(_ plan: ReloadPlan, new: LoadedConfig, change: LiveListeners.Change?) async -> String {
        let config = new.config
        if let level = plan.logLevel { LogLevelControl.shared.level = level }
        if let timeout = plan.heartbeatTimeout { registry.services.heartbeatTimeout = timeout }
        if let policy = plan.unknownFamilies { registry.families.policy = policy }
        var services: [String] = []
        if plan.services {
            let changed = registry.setServices(config.services.map(\.name))
            services += changed.added.map { "added service \($0)" }
            services += changed.removed.map { "removed service \($0.name) (\($0.series) series dropped)" }
        }
        if plan.ingestSettings {
            registry.setIngestSettings(
                .init(
                    defaultService: config.defaultService, maxLineLength: config.maxLineLength,
                    dropClientTelemetry: config.dropClientTelemetry))
            tcpSettings.set(idle: config.tcpIdleTimeout, maxLine: config.maxLineLength)
        }
        var catalogue: String?
        if plan.swapCatalogue {
            // Atomic under every shard lock; series of families whose layout changed are removed.
            let removed = registry.replaceCatalogue(
                new.catalogue, dropLabels: config.limits.dropLabels, defaultBuckets: config.defaultBuckets)
            catalogue =
                "catalogue (\(new.catalogue.families.count) families, \(removed) series of changed families removed)"
        }
        if let limits = plan.limits { registry.limits = limits }
        if plan.web {
            // Built and checked when the config loaded; a failure here would be the machine's.
            do {
                try serving.security.apply(new.web)
            } catch {
                logger.error("reload: the web config's TLS context could not be built: \(error)")
            }
        }
        if plan.remoteWrite { remoteWrite.update(new.remoteWrite) }
        if plan.connectionLimits {
            serving.maxConnections = config.httpMaxConnections
            tcpSettings.set(maxConnections: config.tcpMaxConnections)
        }
        if plan.stateFile, let state, let path = config.stateFile {
            state.move(to: path, interval: config.stateInterval)
        }
        var listeners: [String] = []
        if let change {
            await live.commit(change)
            listeners = change.summary
            let entries = live.entries(config: config)
            directory.publish(entries.list, udpPorts: entries.udpPorts)
        }
        return plan.summary(catalogue: catalogue, listeners: listeners, services: services)
    }
}
