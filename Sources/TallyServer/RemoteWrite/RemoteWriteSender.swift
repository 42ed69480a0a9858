import Logging
import NIOCore
import NIOSSL
import Synchronization
import TallyCore
import TallySystem

/// One remote-write endpoint: every `interval` a snapshot of the selected services goes into a
/// bounded queue, and the queue is delivered oldest first (every sample is cumulative, so a
/// counter is right again at the next delivered interval, whatever was dropped before it).
///
/// 5xx, 429 and connection errors are retried with capped exponential backoff and jitter
/// (`Retry-After` honoured); any other 4xx drops that request, counted and logged. When the
/// receiver is away longer than the queue holds, the oldest intervals are dropped first.
final class RemoteWriteSender: Sendable {
    struct Request: Sendable {
        let body: [UInt8]
        let samples: Int
    }

    struct Interval: Sendable {
        let seq: Int
        var requests: [Request]
        var samples: Int { requests.reduce(0) { $0 + $1.samples } }
    }

    enum Outcome: Sendable {
        case delivered
        case rejected(status: Int, body: String)
        case retry(after: Double?, reason: String)
    }

    let target: RemoteWriteTarget
    let stats: RemoteWriteStats
    private let registry: Registry
    private let group: any EventLoopGroup
    private let encoding: any RemoteWriteEncoding = RemoteWriteV1()
    private let logger: Logger
    private let instance: String
    private let tls: NIOSSLContext?
    private let queue = Mutex<[Interval]>([])
    private let stopping = Atomic<Bool>(false)
    private let sequence = Atomic<Int>(0)
    private let lastRejectLog = Mutex<Double>(-Double.infinity)

    /// Prometheus' own `max_backoff`; and never more than an interval, so after an outage the
    /// queue starts draining before new intervals push the oldest queued ones out.
    static let maxBackoff = 5.0
    /// How long a stop waits for the last intervals to go out.
    static let flushTimeout = 5.0

    init(target: RemoteWriteTarget, registry: Registry, group: any EventLoopGroup, logger: Logger) throws {
        self.target = target
        self.registry = registry
        self.group = group
        self.logger = logger
        stats = RemoteWriteStats(url: target.endpoint.url, interval: target.endpoint.interval)
        instance = target.endpoint.externalLabels["instance"] ?? RemoteWriteTarget.hostName
        tls = target.endpoint.parts?.tls == true ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
    }

    /// Ends the loop: one last snapshot, delivered within `flushTimeout`.
    func stop() { stopping.store(true, ordering: .relaxed) }

    private var isStopping: Bool { stopping.load(ordering: .relaxed) }

    func run() async {
        let interval = target.endpoint.interval
        var next = MonotonicClock.now() + min(1, interval)
        var intervals = 0
        var retryAt = 0.0
        var backoff = 0.5
        while !isStopping && !Task.isCancelled {
            let now = MonotonicClock.now()
            if now >= next {
                enqueueSnapshot(metadata: intervals % 10 == 0)
                intervals += 1
                next += interval * ((now - next) / interval).rounded(.down) + interval
            }
            if MonotonicClock.now() >= retryAt {
                switch await deliver(until: next) {
                case .delivered:
                    backoff = 0.5
                case .retry(let after, _):
                    let jitter = Double.random(in: 0.75...1.25)
                    retryAt = MonotonicClock.now() + min(after ?? min(backoff, Self.maxBackoff) * jitter, 300)
                    backoff = min(backoff * 2, Self.maxBackoff, max(interval, 0.5))
                case .rejected:
                    break
                }
            }
            let wake = queueIsEmpty ? next : min(next, max(retryAt, MonotonicClock.now() + 0.05))
            await sleep(until: wake)
        }
        guard !Task.isCancelled else { return }
        // SIGTERM: the last interval, then what the flush timeout allows.
        enqueueSnapshot(metadata: false)
        let deadline = MonotonicClock.now() + Self.flushTimeout
        while !queueIsEmpty && MonotonicClock.now() < deadline {
            if case .retry = await deliver(until: deadline) {
                await sleep(until: min(deadline, MonotonicClock.now() + 0.5))
            }
        }
        let left = queue.withLock { q -> Int in
            defer { q.removeAll() }
            return q.reduce(0) { $0 + $1.samples }
        }
        if left > 0 {
            stats.update { $0.droppedShutdown += left }
            logger.warning("remote write \(target.endpoint.url): \(left) samples undelivered at stop")
        }
        stats.update { $0.queueIntervals = 0 }
    }

    private var queueIsEmpty: Bool { queue.withLock { $0.isEmpty } }

    private func sleep(until t: Double) async {
        while !isStopping && !Task.isCancelled {
            let left = t - MonotonicClock.now()
            if left <= 0 { return }
            try? await Task.sleep(for: .milliseconds(Int(min(left, 0.1) * 1000) + 1))
        }
    }

    /// Takes the snapshot and queues it as requests of at most `max_samples_per_send` samples.
    func enqueueSnapshot(metadata: Bool) {
        let now = WallClock.now()
        let batch = RemoteWriteBatch.collect(
            registry: registry, target: target.endpoint, instance: instance, now: now, withMetadata: metadata)
        let per = target.endpoint.queue.maxSamplesPerSend
        var requests: [Request] = []
        var start = 0
        repeat {
            let end = min(start + per, batch.series.count)
            let slice = batch.series[start..<end]
            do {
                let raw = try encoding.encode(
                    slice, metadata: start == 0 ? batch.metadata : [], timestampMs: batch.timestampMs)
                requests.append(Request(body: Snappy.compress(raw), samples: slice.count))
            } catch {
                logger.error("remote write \(target.endpoint.url): could not encode a request: \(error)")
            }
            start = end
        } while start < batch.series.count
        let seq = sequence.add(1, ordering: .relaxed).newValue
        let dropped = queue.withLock { q -> Int in
            q.append(Interval(seq: seq, requests: requests))
            var dropped = 0
            while q.count > target.endpoint.queue.capacityIntervals {
                dropped += q.removeFirst().samples
            }
            return dropped
        }
        stats.update {
            $0.droppedQueueFull += dropped
            $0.queueIntervals = queue.withLock { $0.count }
        }
        if dropped > 0 {
            let capacity = target.endpoint.queue.capacityIntervals
            logger.warning(
                "remote write \(target.endpoint.url): queue full (\(capacity) intervals), dropped the oldest interval (\(dropped) samples)"
            )
        }
    }

    /// Sends queued intervals oldest first, each with up to `max_pending_sends` requests at once,
    /// until the queue is empty, a send must be retried, or `deadline` (the next snapshot) comes.
    func deliver(until deadline: Double) async -> Outcome {
        while MonotonicClock.now() < deadline || isStopping {
            guard let head = queue.withLock({ $0.first }) else { return .delivered }
            let parallel = max(1, target.endpoint.queue.maxPendingSends)
            var remaining: [Request] = []
            var retry: Outcome? = nil
            for chunkStart in stride(from: 0, to: head.requests.count, by: parallel) {
                let chunk = Array(head.requests[chunkStart..<min(chunkStart + parallel, head.requests.count)])
                let results = await withTaskGroup(of: (Int, Outcome).self) { group in
                    for (i, r) in chunk.enumerated() { group.addTask { (i, await self.send(r)) } }
                    var out = [Outcome?](repeating: nil, count: chunk.count)
                    for await (i, o) in group { out[i] = o }
                    return out
                }
                for (i, o) in results.enumerated() {
                    if case .retry = o {
                        remaining.append(chunk[i])
                        retry = retry ?? o
                    }
                }
            }
            let done = queue.withLock { q -> Bool in
                guard let i = q.firstIndex(where: { $0.seq == head.seq }) else { return true }  // dropped meanwhile
                if remaining.isEmpty {
                    q.remove(at: i)
                    return true
                }
                q[i].requests = remaining
                return false
            }
            stats.update { $0.queueIntervals = queue.withLock { $0.count } }
            if !done, let retry { return retry }
        }
        return .delivered
    }

    func send(_ request: Request) async -> Outcome {
        var headers: [(String, String)] = [
            ("Content-Encoding", "snappy"), ("Content-Type", encoding.contentType),
            ("X-Prometheus-Remote-Write-Version", encoding.version), ("User-Agent", "tallyd/\(TallyVersion.current)"),
        ]
        if let auth = target.authorization { headers.append(("Authorization", auth)) }
        headers += target.endpoint.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let started = MonotonicClock.now()
        stats.update { $0.bytes += request.body.count }
        let outcome: Outcome
        do {
            let r = try await RemoteWriteClient.post(
                target.endpoint, body: request.body, headers: headers, timeout: target.endpoint.timeout, group: group,
                tls: tls)
            switch r.status {
            case 200..<300:
                outcome = .delivered
            case 429, 500..<600:
                outcome = .retry(after: r.retryAfter, reason: "HTTP \(r.status): \(r.body.prefix(200))")
            default:
                outcome = .rejected(status: r.status, body: r.body)
            }
        } catch {
            outcome = .retry(after: nil, reason: "\(error)")
        }
        stats.recordSend(seconds: MonotonicClock.now() - started)
        switch outcome {
        case .delivered:
            stats.update {
                $0.samplesSent += request.samples
                $0.lastSuccess = WallClock.now()
                $0.lastSuccessMonotonic = MonotonicClock.now()
                $0.lastError = nil
            }
        case .retry(_, let reason):
            stats.update {
                $0.samplesRetried += request.samples
                $0.lastError = reason
            }
        case .rejected(let status, let body):
            stats.update {
                $0.samplesRejected += request.samples
                $0.droppedRejected += request.samples
                $0.lastError = "HTTP \(status): \(body.prefix(200))"
            }
            let now = MonotonicClock.now()
            let log = lastRejectLog.withLock { last -> Bool in
                guard now - last >= target.endpoint.interval else { return false }
                last = now
                return true
            }
            if log {
                let text = body.prefix(500)
                logger.error(
                    "remote write \(target.endpoint.url): HTTP \(status), \(request.samples) samples dropped (4xx is not retried): \(text)"
                )
            }
        }
        return outcome
    }
}
