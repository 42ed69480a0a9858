/// Folds StatsD packets into the registry. One per receive loop: it is not thread-safe, and
/// keeps its own scratch buffers and family cache so that a line for an existing series
/// allocates nothing and takes one shard lock.
public final class Ingestor {
    public let cell: IngestStatsCell
    public var registry: Registry { state.registry }
    /// Set for sockets bound to one service: lines naming another service are refused.
    public var boundService: Int? { state.boundService }
    public var defaultService: Int? { state.defaultService }
    /// Longer lines are refused as `line_too_long`.
    public var maxLineLength: Int { state.maxLineLength }
    /// Lines whose registry update waited for the rest of their packet (large tables only).
    var linesQueued: Int { state.queuedTotal }
    /// Lines folded from `LineCache` entries (tests: the cache is exercised).
    var lineCacheHits: Int { state.lineCache.hitsTotal }
    /// Off: every line takes the whole fold (tests compare the two; the benchmarks measure
    /// the whole fold on its own with `--line-cache 0`). On by default.
    public var lineCacheEnabled: Bool {
        get { state.lineCache.isEnabled }
        set { state.lineCache.isEnabled = newValue }
    }

    /// Everything the hot path touches, in one struct: a packet takes one exclusive access to
    /// it (not one runtime exclusivity check per field and line).
    private var state: FoldState

    public init(
        registry: Registry, transport: String, boundService: Int? = nil, defaultService: Int? = nil,
        maxLineLength: Int = 65_536, dropClientTelemetry: Bool = true,
        limiter: RejectLogLimiter, onReject: @escaping (Rejection) -> Void
    ) {
        let cell = IngestStatsCell(transport: transport)
        self.cell = cell
        let capacity = FoldState.keyCapacity(maxLineLength: maxLineLength)
        state = FoldState(
            registry: registry, transport: transport, boundService: boundService, defaultService: defaultService,
            maxLineLength: maxLineLength, dropClientTelemetry: dropClientTelemetry, limiter: limiter,
            onReject: onReject,
            keyCapacity: capacity, counters: cell.counters)
        registry.register(cell)
    }

    /// Folds every line of one packet (lines separated by `\n`, `\r\n` tolerated).
    public func ingest(packet: UnsafeRawBufferPointer, now: Double) {
        withUnsafePointer(to: packet) { ingest(packets: UnsafeBufferPointer(start: $0, count: 1), now: now) }
    }

    /// Folds every line of each packet, in order, as one `ingest(packet:now:)` after another
    /// would, but with what a call costs besides its lines paid once for all the packets (the
    /// datagrams one `recvmmsg` brought, all received at `now`): the stats lock, the time
    /// stamp and catalogue check, and the liveness update of the services seen.
    public func ingest(packets: UnsafeBufferPointer<UnsafeRawBufferPointer>, now: Double) {
        state.beginPacket(now: now)
        cell.state.withLock { stats in
            for packet in packets { state.ingest(packet: packet, now: now, stats: &stats) }
        }
        state.touchServices(now: now)
    }

    /// Folds a packet as if this ingestor's socket were bound to `service`: the sender's
    /// identity came with the packet (a peer-identity Unix socket's SCM_CREDENTIALS).
    public func ingest(packet: UnsafeRawBufferPointer, now: Double, boundService service: Int) {
        let bound = state.boundService
        state.boundService = service
        ingest(packet: packet, now: now)
        state.boundService = bound
    }

    /// Refuses every line of `packet` for one reason (a sender the socket does not know).
    public func refuseAll(_ reason: RejectReason, _ detail: String, packet: UnsafeRawBufferPointer, now: Double) {
        var start = 0
        while start < packet.count {
            let end = ByteScan.find(0x0A, packet, from: start, to: packet.count)
            if end > start {
                let line = UnsafeRawBufferPointer(rebasing: packet[start..<min(end, start + 200)])
                refuse(reason, detail, line: line, now: now)
            }
            start = end + 1
        }
    }

    /// Counts and logs a line the transport refused before it could be folded (an overlong
    /// TCP line, a half line at disconnect); `line` may be a prefix of it.
    public func refuse(_ reason: RejectReason, _ detail: String, line: UnsafeRawBufferPointer, now: Double) {
        cell.state.withLock { stats in
            stats.lines += 1
            state.lineService = -1
            state.reject(LineError(reason, detail), line: line, now: now, stats: &stats)
            cell.counters.count(service: -1, family: -1)
        }
    }
}
