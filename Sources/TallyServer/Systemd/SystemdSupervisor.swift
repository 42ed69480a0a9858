import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TallyCore
import TallySystem

/// tallyd's side of its life under systemd: `READY=1` once it runs (everything is bound
/// before the group starts), `STATUS=` every few seconds, `WATCHDOG=1` only while every
/// ingest loop, UDP and Unix receive thread and the HTTP loop answer, and `STOPPING=1` when shutdown
/// begins. Outside systemd it only waits for shutdown.
struct SystemdSupervisor: Service {
    let registry: Registry
    let heartbeats: Heartbeats
    let threads: Threads
    let readiness: Readiness
    let statusInterval: Double
    let logger: Logger

    /// Parts that must keep answering for the watchdog to be pinged.
    static func loopPart(_ index: Int) -> String { "ingest loop \(index)" }
    static let httpPart = "http loop"

    func run() async throws {
        let now = MonotonicClock.now()
        for i in threads.ingestLoops.indices { heartbeats.register(Self.loopPart(i), now: now) }
        heartbeats.register(Self.httpPart, now: now)
        let first = StatusLine.sample(registry, at: now)
        readiness.ready()
        Systemd.notify("READY=1\nSTATUS=\(StatusLine.ready(series: totalSeries(), first))")
        if Systemd.notifySocketPresent {
            await supervise(from: first)
        } else {
            await waitForShutdown()
        }
        readiness.stopping()
        logger.info("shutting down: draining receive queues")
        Systemd.notify("STOPPING=1\nSTATUS=stopping: draining receive queues and in-flight scrapes")
    }

    /// Until shutdown: sends liveness probes through every loop, pings the watchdog while all
    /// of them answer, and refreshes `STATUS=`.
    private func supervise(from first: StatusLine.Sample) async {
        let watchdog = Systemd.watchdogInterval()
        let tick = min(watchdog.map { $0 / 2 } ?? statusInterval, statusInterval)
        var previous = first
        var wedgedReported = false
        if watchdog != nil { Systemd.notify("WATCHDOG=1") }
        while true {
            probe()
            guard await sleepUnlessShuttingDown(tick) else { return }
            let now = MonotonicClock.now()
            if let watchdog {
                let stale = heartbeats.stale(now: now, maxAge: watchdog)
                if stale.isEmpty {
                    Systemd.notify("WATCHDOG=1")
                    wedgedReported = false
                } else if !wedgedReported {
                    wedgedReported = true
                    let parts = stale.map { "\($0.part) silent for \(Int($0.age * 1000)) ms" }.joined(separator: ", ")
                    logger.critical("watchdog: not pinging systemd, \(parts); systemd will restart tallyd")
                    Systemd.notify("STATUS=wedged: \(parts)")
                }
            }
            if now - previous.at >= statusInterval, !wedgedReported {
                let sample = StatusLine.sample(registry, at: now)
                Systemd.notify("STATUS=\(StatusLine.rates(series: totalSeries(), from: previous, to: sample))")
                previous = sample
            }
        }
    }

    /// Schedules one heartbeat on every event loop; the HTTP loop's also takes every shard lock.
    private func probe() {
        let (heartbeats, registry) = (self.heartbeats, self.registry)
        for (i, loop) in threads.ingestLoops.enumerated() {
            loop.execute { heartbeats.beat(Self.loopPart(i), now: MonotonicClock.now()) }
        }
        threads.http.any().execute {
            _ = registry.seriesCounts()
            heartbeats.beat(Self.httpPart, now: MonotonicClock.now())
        }
    }

    private func totalSeries() -> Int { registry.seriesCounts().reduce(0, +) }
}
