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
                let (next, outcome) = reload(running)
                running = next
                request.reply(outcome)
            }
            requests.finish()
            group.cancelAll()
        }
    }

    /// One reload; returns what runs afterwards and what to answer.
    func reload(_ running: LoadedConfig) -> (LoadedConfig, ReloadRequests.Outcome) {
        Systemd.notify("RELOADING=1\nMONOTONIC_USEC=\(MonotonicClock.microseconds())")
        var result = running
        let outcome: ReloadRequests.Outcome
        if let load {
            do {
                let new = try LoadedConfig(try load())
                for warning in new.warnings { logger.warning("reload: \(warning)") }
                let plan = ReloadPlan(old: running, new: new)
                let summary = apply(plan, new: new)
                result = plan.running
                outcome = .init(ok: true, message: summary)
                logger.notice("reload: \(summary)")
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

    private func apply(_ plan: ReloadPlan, new: LoadedConfig) -> String {
        if let level = plan.logLevel { LogLevelControl.shared.level = level }
        if let timeout = plan.heartbeatTimeout { registry.services.heartbeatTimeout = timeout }
        if let policy = plan.unknownFamilies { registry.families.policy = policy }
        var catalogue: String?
        if plan.swapCatalogue {
            // Atomic under every shard lock; series of families whose layout changed are removed.
            let removed = registry.replaceCatalogue(
                new.catalogue, dropLabels: new.config.limits.dropLabels, defaultBuckets: new.config.defaultBuckets)
            catalogue =
                "catalogue (\(new.catalogue.families.count) families, \(removed) series of changed families removed)"
        }
        if let limits = plan.limits { registry.limits = limits }
        return plan.summary(catalogue: catalogue)
    }
}
