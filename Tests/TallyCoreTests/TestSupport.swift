import Synchronization

@testable import TallyCore

/// A small catalogue in code, shaped like the real one, for core tests.
let testCatalogue = try! Catalogue(families: [
    FamilyDescriptor(
        name: "http_requests_total", type: .counter, help: "Total HTTP requests.", labels: ["method", "path", "status"]),
    FamilyDescriptor(
        name: "http_request_duration_seconds", type: .histogram, help: "Duration.", labels: ["method", "path"],
        buckets: [0.005, 0.01, 0.1, 1.0]),
    FamilyDescriptor(name: "http_request_size_bytes", type: .summary, help: "Size.", labels: ["method", "path"]),
    FamilyDescriptor(name: "service_up", type: .gauge, help: "Up.", labels: ["service_name"]),
    FamilyDescriptor(name: "service_start_time", type: .gauge, help: "Start.", labels: ["service_name"]),
    FamilyDescriptor(
        name: "db_connections_total", type: .gauge, help: "Active connections (a gauge).", labels: ["service_name"]),
    FamilyDescriptor(name: "position_pnl_usd", type: .gauge, help: "PnL.", labels: ["position_id", "symbol"]),
])

let testServices = ["strategy_service", "risk_manager", "order_executor"]

/// An ingestor over a fresh registry, collecting rejections.
final class Harness {
    let registry: Registry
    let ingestor: Ingestor
    let rejections = Mutex<[Rejection]>([])

    init(
        policy: FamilyTable.UnknownPolicy = .accept, defaultService: String? = nil, heartbeat: Double = 30,
        boundService: Int? = nil, shards: Int = 4, limits: Limits = Limits(), dropClientTelemetry: Bool = true,
        logInterval: Double = 0
    ) {
        let families = FamilyTable(
            catalogue: testCatalogue, policy: policy, defaultBuckets: [0.1, 1, 10], dropLabels: limits.dropLabels)
        let services = ServiceTable(names: testServices, heartbeatTimeout: heartbeat)
        registry = Registry(families: families, services: services, limits: limits, shardCount: shards)
        let box = Box()
        ingestor = Ingestor(
            registry: registry, transport: "test", boundService: boundService,
            defaultService: defaultService.flatMap { testServices.firstIndex(of: $0) },
            dropClientTelemetry: dropClientTelemetry,
            limiter: RejectLogLimiter(interval: logInterval)
        ) { box.append($0) }
        box.harness = self
    }

    final class Box: @unchecked Sendable {
        weak var harness: Harness?
        func append(_ r: Rejection) { harness?.rejections.withLock { $0.append(r) } }
    }

    func send(_ packet: String, now: Double = 1000) {
        var p = packet
        p.withUTF8 { ingestor.ingest(packet: UnsafeRawBufferPointer($0), now: now) }
    }

    func sendBytes(_ bytes: [UInt8], now: Double = 1000) {
        bytes.withUnsafeBytes { ingestor.ingest(packet: $0, now: now) }
    }

    var stats: IngestStats { ingestor.cell.read() }

    var reasons: [RejectReason] { rejections.withLock { $0.map(\.reason) } }

    func render(_ service: String, now: Double = 1000, format: ExpositionFormat = .text) -> String {
        let i = testServices.firstIndex(of: service)!
        return String(
            decoding: ExpositionRenderer.render(registry, service: i, now: now, format: format), as: UTF8.self)
    }

    /// The value of the sample line starting with `series ` in `service`'s exposition.
    func value(_ service: String, _ series: String, now: Double = 1000) -> Double? {
        for line in render(service, now: now).split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}
