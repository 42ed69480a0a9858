import Logging
import NIOPosix
import SwiftProtobuf
import TallySystem
import Testing

@testable import TallyCore
@testable import TallyServer

@Suite struct RemoteWriteTests {
    static func registry() throws -> Registry {
        let registry = try LoadedConfig(TallyConfig.embeddedDefault()).makeRegistry(now: 1000)
        let ingestor = Ingestor(registry: registry, transport: "test", limiter: RejectLogLimiter()) { _ in }
        var lines = """
            orders_placed_total:3|c|#service:order_executor,order_type:limit,symbol:BTC,side:buy
            http_request_duration_seconds:250|ms|#service:risk_manager,method:GET,path:/x
            jobs:1|c|#service:order_executor,Zone:eu,queue:a
            """
        lines.withUTF8 { ingestor.ingest(packet: UnsafeRawBufferPointer($0), now: 1000) }
        return registry
    }

    @Test(arguments: [
        ("http://127.0.0.1:9090/api/v1/write", true), ("https://mimir.example/api/v1/push", true),
        ("http://[::1]:9090/w", true), ("127.0.0.1:9090/api/v1/write", false), ("http://:9090/w", false),
        ("http://h:99999/w", false), ("ftp://h/w", false), ("http://user@h/w", false),
        ("http://[::1]/w", true), ("http://[::1]x:80/w", false), ("http://[::1/w", false), ("http://h:/w", false),
        ("http://h:0/w", false),
    ])
    func urlsNeedASchemeAndAHost(_ url: String, _ valid: Bool) {
        #expect((RemoteWriteEndpoint.split(url) != nil) == valid)
    }

    @Test func urlPartsHaveDefaultPorts() throws {
        let p = try #require(RemoteWriteEndpoint.split("https://mimir.example/api/v1/push?x=1"))
        #expect(p.tls && p.host == "mimir.example" && p.port == 443 && p.path == "/api/v1/push?x=1")
        let q = try #require(RemoteWriteEndpoint.split("http://[::1]:9090"))
        #expect(!q.tls && q.host == "::1" && q.port == 9090 && q.path == "/")
        let r = try #require(RemoteWriteEndpoint.split("https://[fd00::5]/api/v1/write"))
        #expect(r.host == "fd00::5" && r.port == 443)
    }

    @Test func configMistakesNameTheirKey() {
        for (yaml, expected) in [
            ("remote_write:\n  - url: localhost:9090\n", "remote_write[0].url"),
            ("remote_write:\n  - url: http://h/w\n    interval: 0s\n", "remote_write[0].interval"),
            ("remote_write:\n  - url: http://h/w\n    queue: {capacity_intervals: 0}\n", "capacity_intervals"),
            ("remote_write:\n  - url: http://h/w\n    headers: {Content-Type: x}\n", "headers.Content-Type"),
            ("remote_write:\n  - url: http://h/w\n    external_labels: {__x: y}\n", "external_labels.__x"),
        ] {
            #expect {
                try TallyConfig.parse(yaml: yaml, source: "t.yaml")
            } throws: { error in
                "\(error)".contains(expected)
            }
        }
    }

    @Test func aBatchHasSortedLabelsServiceJobInstanceAndExternalLabels() throws {
        let registry = try Self.registry()
        var target = RemoteWriteEndpoint(url: "http://h/w")
        target.externalLabels = ["host": "web-1", "job": "ignored-series-job-wins"]
        let batch = RemoteWriteBatch.collect(
            registry: registry, target: target, instance: "vm1", now: 1001, withMetadata: true)
        let orders = try #require(
            batch.series.first { s in s.labels.contains { $0 == ("__name__", "orders_placed_total") } })
        #expect(
            orders.labels.map(\.name) == [
                "__name__", "host", "instance", "job", "order_type", "service_name", "side", "symbol",
            ])
        #expect(orders.labels.first { $0.name == "job" }?.value == "tally")
        #expect(orders.labels.first { $0.name == "instance" }?.value == "vm1")
        #expect(orders.value == 3)
        // Byte order: an upper-case label sorts before __name__.
        let jobs = try #require(batch.series.first { s in s.labels.contains { $0 == ("__name__", "jobs_total") } })
        #expect(jobs.labels.map(\.name).prefix(2) == ["Zone", "__name__"])
        // A histogram: cumulative buckets with le, then _sum and _count.
        let buckets = batch.series.filter {
            $0.labels.contains { $0 == ("__name__", "http_request_duration_seconds_bucket") }
        }
        #expect(buckets.last?.labels.contains { $0 == ("le", "+Inf") } == true && buckets.last?.value == 1)
        #expect(
            batch.series.contains {
                $0.labels.contains { $0 == ("__name__", "http_request_duration_seconds_sum") } && $0.value == 0.25
            })
        #expect(batch.timestampMs == 1_001_000)
        #expect(batch.metadata.contains { $0.family == "orders_placed_total" && $0.type == .counter })
        #expect(batch.metadata.contains { $0.family == "http_request_duration_seconds" && $0.unit == "seconds" })
        // Only the selected services.
        target.services = ["risk_manager"]
        let only = RemoteWriteBatch.collect(
            registry: registry, target: target, instance: "vm1", now: 1001, withMetadata: false)
        #expect(
            !only.series.isEmpty
                && only.series.allSatisfy { $0.labels.contains { $0 == ("service_name", "risk_manager") } })
        #expect(only.metadata.isEmpty)
    }

    @Test func theWireFormatIsASnappyWriteRequest() throws {
        let registry = try Self.registry()
        let batch = RemoteWriteBatch.collect(
            registry: registry, target: RemoteWriteEndpoint(url: "http://h/w"), instance: "vm1", now: 1001,
            withMetadata: true)
        let raw = try RemoteWriteV1().encode(
            batch.series[...], metadata: batch.metadata, timestampMs: batch.timestampMs)
        let wire = Snappy.compress(raw)
        #expect(wire.count < raw.count)
        let decoded = try Prometheus_WriteRequest(serializedBytes: try #require(Snappy.uncompress(wire)))
        #expect(decoded.timeseries.count == batch.series.count)
        #expect(decoded.timeseries.allSatisfy { $0.samples.count == 1 && $0.samples[0].timestamp == 1_001_000 })
        #expect(decoded.timeseries[0].labels.map(\.name) == batch.series[0].labels.map(\.name))
        #expect(decoded.metadata.contains { $0.metricFamilyName == "orders_placed_total" && $0.type == .counter })
        #expect(Snappy.uncompress([1, 2, 3]) == nil)
    }

    @Test func aFullQueueDropsTheOldestIntervalAndCountsItsSamples() async throws {
        let registry = try Self.registry()
        var endpoint = RemoteWriteEndpoint(url: "http://127.0.0.1:1/w")
        endpoint.queue.capacityIntervals = 2
        let group = MultiThreadedEventLoopGroup.singleton
        let sender = try RemoteWriteSender(
            target: RemoteWriteTarget(endpoint: endpoint), registry: registry, group: group,
            logger: Logger(label: "test"))
        for _ in 0..<3 { sender.enqueueSnapshot(metadata: false) }
        let v = sender.stats.value
        #expect(v.queueIntervals == 2)
        #expect(v.droppedQueueFull > 0)
        // Nothing listens on port 1: a connection error, to be retried.
        let outcome = await sender.deliver(until: MonotonicClock.now() + 5)
        guard case .retry = outcome else {
            Issue.record("a refused connection must be retried, got \(outcome)")
            return
        }
        #expect(sender.stats.value.samplesRetried > 0 && sender.stats.value.queueIntervals == 2)
    }
}
