import Synchronization
import TallyCore

/// What one endpoint's sender did, for `/metrics`, the status page and `/api/v1/status`.
final class RemoteWriteStats: Sendable {
    struct Value: Sendable {
        var samplesSent = 0
        /// Samples of requests the receiver refused with a 4xx (not retried).
        var samplesRejected = 0
        /// Samples of attempts that failed and were tried again.
        var samplesRetried = 0
        var droppedQueueFull = 0
        var droppedRejected = 0
        var droppedShutdown = 0
        var bytes = 0
        var queueIntervals = 0
        /// Wall-clock time, shown; `lastSuccessMonotonic` is the same moment for `healthy`.
        var lastSuccess: Double?
        var lastSuccessMonotonic: Double?
        var lastError: String?
        var sendCount = 0
        var sendSeconds = 0.0
        var sendBuckets = [Int](repeating: 0, count: RemoteWriteStats.buckets.count + 1)
    }

    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    let url: String
    let interval: Double
    private let state = Mutex(Value())

    init(url: String, interval: Double) {
        self.url = url
        self.interval = interval
    }

    func update(_ body: (inout Value) -> Void) { state.withLock { body(&$0) } }

    var value: Value { state.withLock { $0 } }

    func recordSend(seconds: Double) {
        var b = 0
        while b < Self.buckets.count && seconds > Self.buckets[b] { b += 1 }
        state.withLock {
            $0.sendCount += 1
            $0.sendSeconds += seconds
            $0.sendBuckets[b] += 1
        }
    }

    /// Healthy: delivered within the last three intervals (or nothing to deliver yet).
    /// A success within three intervals (and 10 s), measured on the monotonic clock.
    func healthy(monotonicNow now: Double) -> Bool {
        let v = value
        guard let last = v.lastSuccessMonotonic else { return v.lastError == nil }
        return now - last <= 3 * interval + 10
    }
}

/// The remote-write families, one series per endpoint URL (listed from the start).
enum RemoteWriteExposition {
    static func render(_ w: inout TextWriter, _ all: [RemoteWriteStats]) {
        guard !all.isEmpty else { return }
        let values = all.map { ($0.url, $0.value) }
        func family(_ name: String, _ help: String, _ type: FamilyType, _ rows: (String, Value) -> [(String, Double)]) {
            w.header(name: name, help: help, type: type)
            for (url, v) in values {
                for (extra, x) in rows(url, v) {
                    w.append(name)
                    w.append("{url=\"")
                    w.labelValue(url)
                    w.append("\"")
                    w.append(extra)
                    w.append("} ")
                    w.value(x)
                    w.append(byte: 0x0A)
                }
            }
        }
        typealias Value = RemoteWriteStats.Value
        family("tally_remote_write_samples_total", "Samples sent to each remote-write endpoint, by result.", .counter) {
            _, v in
            [
                (",result=\"success\"", Double(v.samplesSent)), (",result=\"rejected\"", Double(v.samplesRejected)),
                (",result=\"retried\"", Double(v.samplesRetried)),
            ]
        }
        family(
            "tally_remote_write_dropped_samples_total",
            "Samples never delivered: queue_full (the receiver was away longer than the queue holds), rejected (4xx), "
                + "shutdown (undelivered at stop).", .counter
        ) { _, v in
            [
                (",reason=\"queue_full\"", Double(v.droppedQueueFull)),
                (",reason=\"rejected\"", Double(v.droppedRejected)),
                (",reason=\"shutdown\"", Double(v.droppedShutdown)),
            ]
        }
        family("tally_remote_write_bytes_total", "Request bytes sent (snappy-compressed), every attempt.", .counter) {
            _, v in [("", Double(v.bytes))]
        }
        family("tally_remote_write_queue_intervals", "Intervals waiting to be delivered.", .gauge) { _, v in
            [("", Double(v.queueIntervals))]
        }
        family(
            "tally_remote_write_last_success_timestamp_seconds", "When a request was last accepted (0: never).", .gauge
        ) { _, v in [("", v.lastSuccess ?? 0)] }
        w.header(
            name: "tally_remote_write_send_duration_seconds", help: "Time of each request, connect to answer.",
            type: .histogram)
        for (url, v) in values {
            w.histogramSeries(
                "tally_remote_write_send_duration_seconds", label: "url", value: url, bounds: RemoteWriteStats.buckets,
                counts: v.sendBuckets, sum: v.sendSeconds, count: v.sendCount)
        }
    }
}
