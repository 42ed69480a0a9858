import FoundationEssentials
import TallyCore
import TallySystem

/// Everything the status page, `/api/v1/status` and `tally status` show, in one value: the page
/// is rendered from it, the API is it as JSON, the CLI decodes it. Field names are the JSON's.
public struct StatusReport: Codable, Sendable {
    public struct Family: Codable, Sendable {
        public var family: String
        public var series: Int?
        public var linesPerSecond: Double?
    }

    public struct Service: Codable, Sendable {
        public var name: String
        public var up: Bool
        /// Seconds since its last line; nil before the first.
        public var lastLineAgeSeconds: Double?
        public var linesPerSecond: Double
        public var rejectsPerSecond: Double
        public var series: Int
        public var seriesLimit: Int
        /// series / seriesLimit.
        public var seriesShare: Double
        public var topFamiliesBySeries: [Family]
        /// This service's families with the most lines per second.
        public var topFamiliesByRate: [Family]
        public var endpoint: String?
    }

    public struct Refusal: Codable, Sendable {
        public var reason: String
        public var lastFiveMinutes: Int
        public var total: Int
        /// The latest logged line of this reason (escaped, at most 200 bytes) and why.
        public var example: String?
        public var detail: String?
    }

    public struct Listener: Codable, Sendable {
        public var listener: String
        public var `protocol`: String
        public var address: String
    }

    public struct Drops: Codable, Sendable {
        public var port: Int
        public var drops: Int
    }

    public struct Reload: Codable, Sendable {
        public var configPath: String?
        public var lastSuccessTime: Double
        public var lastAttemptTime: Double?
        public var lastSuccessful: Bool
        public var message: String
        public var successes: Int
        public var failures: Int
    }

    public struct SavedState: Codable, Sendable {
        public var path: String
        public var lastSaveTime: Double?
        public var ageSeconds: Double?
        public var saves: Int
        public var failures: Int
        public var restoredSeries: Int?
    }

    public var version: String
    public var now: Double
    public var startTime: Double
    public var uptimeSeconds: Double
    public var ready: Bool
    /// The window the rates are over (up to 60 s; less while tallyd is younger).
    public var rateWindowSeconds: Double
    public var linesPerSecond: Double
    public var rejectsPerSecond: Double
    public var services: [Service]
    /// Families with the most lines per second (every service together).
    public var topFamiliesByRate: [Family]
    public var refusals: [Refusal]
    public var listeners: [Listener]
    public var kernelDrops: [Drops]
    public var reload: Reload
    public var state: SavedState?
    /// Every `remote_write` endpoint; nil when none is configured.
    public var remoteWrite: [RemoteWrite]?

    public struct RemoteWrite: Codable, Sendable {
        public var url: String
        /// Delivered within the last three intervals.
        public var healthy: Bool
        public var lastSuccessTime: Double?
        public var queueIntervals: Int
        public var samplesSent: Int
        public var droppedSamples: Int
        public var lastError: String?
    }

    public static func decode(_ bytes: [UInt8]) throws -> StatusReport {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(StatusReport.self, from: Data(bytes))
    }

    public func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? Array(encoder.encode(self))) ?? Array("{}".utf8)
    }
}

/// What `StatusReport.build` reads from.
struct StatusSources: Sendable {
    let registry: Registry
    /// Wall-clock time, shown; the uptime is measured from `startMonotonic`.
    let startTime: Double
    let startMonotonic = MonotonicClock.now()
    let configPath: String?
    let sampler: StatusSampler
    let recent: RecentRejections
    let listeners: ListenerDirectory
    let readiness: Readiness
    let reloads: ReloadStats
    let state: StateStore?
    var remoteWrite: RemoteWriteService? = nil

    func report() -> StatusReport {
        let wall = WallClock.now()
        let monotonic = MonotonicClock.now()
        let now = sampler.current()
        let minute = sampler.sample(ago: 60, now: now.at) ?? now
        let five = sampler.sample(ago: 300, now: now.at) ?? now
        let dt = max(now.at - minute.at, 0.001)
        let reasons = RejectReason.allCases.count
        func at(_ a: [Int], _ i: Int) -> Int { i < a.count ? a[i] : 0 }
        func rate(_ a: [Int], _ b: [Int], _ i: Int) -> Double { Double(at(a, i) - at(b, i)) / dt }

        let names = registry.services.names
        let families = registry.families.snapshot()
        let counts = registry.seriesCounts()
        let endpoints = Dictionary(
            listeners.all.filter { $0.listener.hasPrefix("services.") }.map {
                (String($0.listener.dropFirst("services.".count)), $0.address)
            }, uniquingKeysWith: { a, _ in a })
        // Rates per (service, family) over the window, and per family for all services.
        var pairRates: [(service: Int, family: Int, rate: Double)] = []
        var familyRates: [Int: Double] = [:]
        for (key, n) in now.linesByServiceFamily {
            let family = key & 0xFFFF_FFFF
            guard family < families.count else { continue }
            let r = Double(n - (minute.linesByServiceFamily[key] ?? 0)) / dt
            guard r > 0 else { continue }
            pairRates.append(((key >> 32) - 1, family, r))
            familyRates[family, default: 0] += r
        }
        var services: [StatusReport.Service] = []
        for (i, name) in names.enumerated() where registry.services.isActive(i) {
            let liveness = registry.services.liveness(i)
            var rejects = 0.0
            for r in 0..<reasons {
                rejects += rate(now.rejectedByService, minute.rejectedByService, (i + 1) * reasons + r)
            }
            let perFamily = registry.familySeriesCounts(service: i)
            let top = perFamily.indices.filter { perFamily[$0] > 0 && $0 < families.count }
                .sorted { perFamily[$0] > perFamily[$1] }.prefix(5)
                .map { StatusReport.Family(family: families[$0].name, series: perFamily[$0]) }
            let byRate = pairRates.filter { $0.service == i }.sorted { $0.rate > $1.rate }.prefix(5)
                .map { StatusReport.Family(family: families[$0.family].name, linesPerSecond: $0.rate) }
            let limit = registry.limits.maxSeriesPerService
            let series = i < counts.count ? counts[i] : 0
            services.append(
                .init(
                    name: name, up: registry.services.isUp(i, now: monotonic),
                    lastLineAgeSeconds: liveness.lastSeen.map { max(monotonic - $0, 0) },
                    linesPerSecond: rate(now.linesByService, minute.linesByService, i + 1), rejectsPerSecond: rejects,
                    series: series, seriesLimit: limit, seriesShare: Double(series) / Double(max(limit, 1)),
                    topFamiliesBySeries: top, topFamiliesByRate: Array(byRate),
                    endpoint: endpoints[name].map { "http://\($0)/metrics" }))
        }
        let byRate = familyRates.sorted { $0.value > $1.value }.prefix(5)
            .map { StatusReport.Family(family: families[$0.key].name, linesPerSecond: $0.value) }
        let recent = self.recent.all
        var refusals: [StatusReport.Refusal] = []
        for (r, reason) in RejectReason.allCases.enumerated() {
            let total = at(now.rejectedByReason, r)
            let last5 = total - at(five.rejectedByReason, r)
            guard total > 0 else { continue }
            let example = recent[reason]
            refusals.append(
                .init(
                    reason: reason.rawValue, lastFiveMinutes: last5, total: total, example: example?.line,
                    detail: example?.detail))
        }
        refusals.sort { ($0.lastFiveMinutes, $0.total) > ($1.lastFiveMinutes, $1.total) }
        let udpPorts = listeners.udpPorts
        let drops = UDPDrops.read(ports: Set(udpPorts))
        let reloads = self.reloads.current
        let stateStats = state?.stats
        var lines = 0.0
        var rejected = 0.0
        for i in now.linesByService.indices { lines += rate(now.linesByService, minute.linesByService, i) }
        for i in now.rejectedByReason.indices { rejected += rate(now.rejectedByReason, minute.rejectedByReason, i) }
        return StatusReport(
            version: TallyVersion.current, now: wall, startTime: startTime, uptimeSeconds: monotonic - startMonotonic,
            ready: readiness.state == .ready, rateWindowSeconds: now.at - minute.at, linesPerSecond: lines,
            rejectsPerSecond: rejected, services: services, topFamiliesByRate: Array(byRate), refusals: refusals,
            listeners: listeners.all.map { .init(listener: $0.listener, protocol: $0.proto, address: $0.address) },
            kernelDrops: udpPorts.map { .init(port: $0, drops: drops[$0] ?? 0) },
            reload: .init(
                configPath: configPath, lastSuccessTime: reloads.lastSuccess, lastAttemptTime: reloads.lastAttempt,
                lastSuccessful: reloads.lastSuccessful, message: reloads.lastMessage, successes: reloads.successes,
                failures: reloads.failures),
            state: state.map { store in
                .init(
                    path: store.path, lastSaveTime: stateStats?.lastSaveTime,
                    ageSeconds: stateStats?.lastSaveTime.map { wall - $0 }, saves: stateStats?.saves ?? 0,
                    failures: stateStats?.failures ?? 0, restoredSeries: stateStats?.restored)
            },
            remoteWrite: remoteWrite.flatMap { service in
                let all = service.stats
                guard !all.isEmpty else { return nil }
                return all.map { s in
                    let v = s.value
                    return .init(
                        url: s.url, healthy: s.healthy(monotonicNow: monotonic), lastSuccessTime: v.lastSuccess,
                        queueIntervals: v.queueIntervals, samplesSent: v.samplesSent,
                        droppedSamples: v.droppedQueueFull + v.droppedRejected + v.droppedShutdown,
                        lastError: v.lastError)
                }
            })
    }
}
