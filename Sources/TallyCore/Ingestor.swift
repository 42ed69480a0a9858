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

    /// Everything the hot path touches, in one struct: a packet takes one exclusive access to
    /// it (not one runtime exclusivity check per field and line).
    private var state: FoldState
    private let keyBuffer: UnsafeMutableRawPointer

    public init(
        registry: Registry, transport: String, boundService: Int? = nil, defaultService: Int? = nil,
        maxLineLength: Int = 65_536, dropClientTelemetry: Bool = true,
        limiter: RejectLogLimiter, onReject: @escaping (Rejection) -> Void
    ) {
        let cell = IngestStatsCell(transport: transport)
        self.cell = cell
        // A key is at most the family id, every byte of the line, a NUL per label and the
        // service name per label: twice the line plus slack bounds it.
        let capacity = 2 * maxLineLength + 4096
        keyBuffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        state = FoldState(
            registry: registry, transport: transport, boundService: boundService, defaultService: defaultService,
            maxLineLength: maxLineLength, dropClientTelemetry: dropClientTelemetry, limiter: limiter,
            onReject: onReject,
            key: keyBuffer, keyCapacity: capacity)
        registry.register(cell)
    }

    deinit { keyBuffer.deallocate() }

    /// Folds every line of one packet (lines separated by `\n`, `\r\n` tolerated).
    public func ingest(packet: UnsafeRawBufferPointer, now: Double) {
        state.beginPacket(now: now)
        cell.state.withLock { stats in
            state.ingest(packet: packet, now: now, stats: &stats)
        }
        state.touchServices(now: now)
    }

    /// Counts and logs a line the transport refused before it could be folded (an overlong
    /// TCP line, a half line at disconnect); `line` may be a prefix of it.
    public func refuse(_ reason: RejectReason, _ detail: String, line: UnsafeRawBufferPointer, now: Double) {
        cell.state.withLock { stats in
            stats.lines += 1
            state.reject(LineError(reason, detail), line: line, now: now, stats: &stats)
        }
    }
}

/// The hot-path view of a family, cached per loop (a class: one retain per line, not four).
final class FamilyInfo {
    enum Special { case none, serviceUp, serviceStartTime }
    let type: FamilyType
    let unit: FamilyUnit
    let name: String
    /// Documented label names as bytes; nil for undocumented families.
    let labels: [[UInt8]]?
    /// The documented label names back to back, and where each starts (count + 1 offsets):
    /// matching a tag is a length check and a compare over one buffer. Raw memory owned by
    /// this object, so the per-tag loop retains nothing.
    let labelFlat: UnsafeMutablePointer<UInt8>
    let labelOffsets: UnsafeMutablePointer<Int>
    let labelCount: Int
    let serviceLabel: Int?
    let buckets: [Double]
    let width: Int
    let special: Special
    /// Tag names aggregated away (`drop_labels`): ignored without being counted as dropped.
    let dropped: [[UInt8]]

    init(_ d: FamilyDescriptor) {
        type = d.type
        unit = d.unit
        name = d.name
        labels = d.labels.map { $0.map { Array($0.utf8) } }
        var flat: [UInt8] = []
        var offsets = [0]
        for l in labels ?? [] {
            flat.append(contentsOf: l)
            offsets.append(flat.count)
        }
        labelFlat = .allocate(capacity: max(flat.count, 1))
        labelFlat.initialize(from: flat, count: flat.count)
        labelOffsets = .allocate(capacity: offsets.count)
        labelOffsets.initialize(from: offsets, count: offsets.count)
        labelCount = offsets.count - 1
        serviceLabel = d.labels?.firstIndex(of: "service_name")
        buckets = d.buckets
        width = d.slotWidth
        dropped = d.droppedLabels.map { Array($0.utf8) }
        special =
            d.isDocumented && d.name == "service_up"
            ? .serviceUp
            : d.isDocumented && d.name == "service_start_time" ? .serviceStartTime : .none
    }

    deinit {
        labelFlat.deallocate()
        labelOffsets.deallocate()
    }
}

/// An `Ingestor`'s state and the folding logic, as a value so the optimizer sees every access.
struct FoldState {
    let registry: Registry
    let transport: String
    let boundService: Int?
    let defaultService: Int?
    let maxLineLength: Int
    let dropClientTelemetry: Bool
    let limiter: RejectLogLimiter
    let onReject: (Rejection) -> Void
    /// The series key under construction (owned by the Ingestor).
    let key: UnsafeMutableRawPointer
    let keyCapacity: Int
    var keyLength = 0

    var familyCache = ByteKeyTable(capacity: 128)
    var familyCacheIDs: [Int32] = []
    var infos: [FamilyInfo?] = []
    var scratch: [UInt8] = []
    var labelValues = ScratchArray<Range<Int>>()
    var tagList = ScratchArray<TagIterator.Tag>()
    var pairs: [(key: Range<Int>, value: Range<Int>, name: String)] = []
    var updates = ScratchArray<SampleUpdate>()
    var numbers = ScratchArray<(value: Double, signed: Bool)>()
    var seen: [Bool]
    var touched: [Int] = []
    /// The family table generation the caches belong to.
    var generation = 0
    /// This packet's time as a registry stamp.
    var stamp: UInt32 = 0

    static let maxCachedNames = 100_000

    init(
        registry: Registry, transport: String, boundService: Int?, defaultService: Int?, maxLineLength: Int,
        dropClientTelemetry: Bool, limiter: RejectLogLimiter, onReject: @escaping (Rejection) -> Void,
        key: UnsafeMutableRawPointer, keyCapacity: Int
    ) {
        self.registry = registry
        self.transport = transport
        self.boundService = boundService
        self.defaultService = defaultService
        self.maxLineLength = maxLineLength
        self.dropClientTelemetry = dropClientTelemetry
        self.limiter = limiter
        self.onReject = onReject
        self.key = key
        self.keyCapacity = keyCapacity
        seen = [Bool](repeating: false, count: registry.services.count)
        generation = registry.families.generation
    }

    /// Once per packet: the time stamp, and fresh caches if the catalogue was swapped.
    @inline(__always)
    mutating func beginPacket(now: Double) {
        stamp = registry.stamp(now)
        let g = registry.families.generation
        if g != generation { dropCaches(generation: g) }
    }

    mutating func dropCaches(generation g: Int) {
        generation = g
        familyCache = ByteKeyTable(capacity: 128)
        familyCacheIDs.removeAll(keepingCapacity: true)
        infos.removeAll(keepingCapacity: true)
    }

    mutating func ingest(packet: UnsafeRawBufferPointer, now: Double, stats: inout IngestStats) {
        stats.packets += 1
        var start = 0
        let n = packet.count
        while start < n {
            let end = ByteScan.find(0x0A, packet, from: start, to: n)
            var lo = start
            var hi = end
            while hi > lo && (packet[hi - 1] == 0x0D || packet[hi - 1] == 0x20 || packet[hi - 1] == 0x09) { hi -= 1 }
            while lo < hi && (packet[lo] == 0x20 || packet[lo] == 0x09) { lo += 1 }
            if lo < hi {
                stats.lines += 1
                let line = UnsafeRawBufferPointer(rebasing: packet[lo..<hi])
                if let skip = Self.skipKind(line, dropClientTelemetry: dropClientTelemetry) {
                    stats.skipped[Int(skip.rawValue)] += 1
                } else if let error = fold(line, now: now, stats: &stats) {
                    reject(error, line: line, now: now, stats: &stats)
                } else {
                    stats.accepted += 1
                }
            }
            start = end + 1
        }
    }

    /// Events, service checks and client telemetry: recognised by their first bytes.
    @inline(__always)
    static func skipKind(_ line: UnsafeRawBufferPointer, dropClientTelemetry: Bool) -> SkipKind? {
        guard line[0] == UInt8(ascii: "_") || line[0] == UInt8(ascii: "d") else { return nil }
        func starts(_ s: StaticString) -> Bool { line.count >= s.utf8CodeUnitCount && memEqual(line.baseAddress!, s) }
        if starts("_e{") { return .event }
        if starts("_sc|") { return .serviceCheck }
        if dropClientTelemetry && starts("datadog.dogstatsd.client.") { return .clientTelemetry }
        return nil
    }

    /// Marks the services seen in the last packet alive (once per packet, not per line).
    mutating func touchServices(now: Double) {
        guard !touched.isEmpty else { return }
        for s in touched {
            registry.services.touch(s, now: now)
            seen[s] = false
        }
        touched.removeAll(keepingCapacity: true)
    }

    func reject(_ error: LineError, line: UnsafeRawBufferPointer, now: Double, stats: inout IngestStats) {
        stats.rejected[error.reason.ordinal] += 1
        if let suppressed = limiter.admit(error.reason, now: now) {
            onReject(
                Rejection(
                    reason: error.reason, detail: error.detail,
                    line: LogEscaper.escape(line, limit: 200), transport: transport, suppressed: suppressed))
        }
    }

    @inline(__always)
    mutating func appendKey(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        precondition(keyLength + bytes.count <= keyCapacity, "series key buffer overflow")
        (key + keyLength).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        keyLength += bytes.count
    }

    @inline(__always)
    mutating func appendKey(byte: UInt8) {
        precondition(keyLength < keyCapacity, "series key buffer overflow")
        key.storeBytes(of: byte, toByteOffset: keyLength, as: UInt8.self)
        keyLength += 1
    }

    /// nil when folded; otherwise why not. Nothing is applied unless the whole line is valid.
    mutating func fold(_ line: UnsafeRawBufferPointer, now: Double, stats: inout IngestStats) -> LineError? {
        guard line.count <= maxLineLength else {
            return LineError(.lineTooLong, "line is \(line.count) bytes, max_line_length is \(maxLineLength)")
        }
        guard UTF8Validation.isValidWithoutNUL(line, 0..<line.count) else {
            return LineError(.invalidUTF8, "the line is not valid UTF-8 or holds a NUL byte")
        }
        let parsed: StatsDLine
        switch StatsDLine.parse(line) {
        case .success(let p): parsed = p
        case .failure(let e): return e
        }

        // Which service sent it.
        var tagService: Int? = nil
        var tagServiceIsName = false
        stats.unknownFields += parsed.unknownFields
        var tags = TagIterator(line, parsed.tags, separator: parsed.tagStyle.separator)
        tagList.reset()
        while let tag = tags.next() {
            tagList.append(tag)  // scanned once; the label pass below walks this list
            guard tag.hasValue, isServiceTag(line, tag.key) else { continue }
            let isName = tag.key.count == 12
            if tagService != nil && tagServiceIsName && !isName { continue }  // service_name wins over service
            let value = UnsafeRawBufferPointer(rebasing: line[tag.value])
            guard let s = registry.services.index(of: value) else {
                return LineError(.unknownService, "service '\(LogEscaper.escape(value, limit: 64))' is not configured")
            }
            tagService = s
            tagServiceIsName = isName
        }
        var nameRange = parsed.name
        var prefixService: Int? = nil
        if let dot = firstIndex(of: 0x2E, in: line, parsed.name),
            let s = registry.services.index(of: UnsafeRawBufferPointer(rebasing: line[parsed.name.lowerBound..<dot]))
        {
            prefixService = s
            nameRange = (dot + 1)..<parsed.name.upperBound
            if nameRange.isEmpty { return LineError(.invalidName, "nothing after the service prefix") }
        }
        if let t = tagService, let p = prefixService, t != p {
            return LineError(
                .serviceMismatch,
                "prefix names '\(registry.services.names[p])' but the tag names '\(registry.services.names[t])'")
        }
        guard let service = tagService ?? prefixService ?? boundService ?? defaultService else {
            return LineError(.noService, "no service_name/service tag, no <service>. prefix and no default_service")
        }
        if let b = boundService, b != service {
            return LineError(
                .serviceMismatch,
                "this socket belongs to '\(registry.services.names[b])', the line names '\(registry.services.names[service])'"
            )
        }
        if !seen[service] {
            seen[service] = true
            touched.append(service)
        }

        // Values: all parsed before anything else happens, so a bad value creates nothing.
        // A set's values are members (any bytes but `:`), kept as hashes.
        numbers.reset()
        var v = parsed.values.lowerBound
        while v <= parsed.values.upperBound {
            let e = ByteScan.find(UInt8(ascii: ":"), line, from: v, to: parsed.values.upperBound)
            if parsed.kind == .set {
                guard e > v else { return LineError(.invalidValue, "a set member is empty") }
                numbers.append(
                    (Double(bitPattern: ByteHash.hash(UnsafeRawBufferPointer(rebasing: line[v..<e]))), false))
                v = e + 1
                continue
            }
            guard let x = NumberParser.parse(line, v..<e) else {
                return LineError(.invalidValue, "value '\(LineError.text(line, v..<e))' is not a finite decimal number")
            }
            numbers.append((x, line[v] == UInt8(ascii: "+") || line[v] == UInt8(ascii: "-")))
            v = e + 1
        }
        if parsed.kind == .counter {
            for j in 0..<numbers.count where numbers[j].value < 0 {
                return LineError(.invalidValue, "a counter cannot go down (value \(numbers[j].value))")
            }
        }

        // Which family.
        let familyID: Int
        switch resolveFamily(UnsafeRawBufferPointer(rebasing: line[nameRange]), kind: parsed.kind) {
        case .found(let id): familyID = id
        case .rejected(let reason, let detail): return LineError(reason, detail)
        }
        let info = self.info(familyID)
        guard info.type.accepts(parsed.kind) else {
            return LineError(
                .typeMismatch, "'\(info.name)' is a \(info.type.rawValue), the line is |\(parsed.kind.statsdField)")
        }
        if parsed.kind == .timer && info.unit != .seconds {
            return LineError(
                .unitMismatch, "'\(info.name)' is not measured in seconds; send |h or |d in its unit instead of |ms")
        }

        updates.reset()
        for j in 0..<numbers.count {
            let (x, signed) = numbers[j]
            switch parsed.kind {
            case .counter:
                updates.append(.add(x / parsed.sampleRate))
            case .gauge:
                updates.append(signed && info.special == .none ? .add(x) : .set(x))
            case .timer, .histogram, .distribution:
                let value = parsed.kind == .timer ? x / 1000 : x
                let weight = 1 / parsed.sampleRate
                if info.type == .summary {
                    updates.append(.summarize(value: value, weight: weight))
                } else {
                    var b = 0
                    while b < info.buckets.count && value > info.buckets[b] { b += 1 }
                    updates.append(.observe(bucket: b, buckets: info.buckets.count, value: value, weight: weight))
                }
            case .set:
                updates.append(.member(x.bitPattern))
            }
        }

        switch info.special {
        case .serviceUp:
            if case .set(let x) = updates.last! { registry.services.setExplicit(service, up: x != 0, now: now) }
            return nil
        case .serviceStartTime:
            if case .set(let x) = updates.last! { registry.services.setStartTime(service, x) }
            return nil
        case .none:
            break
        }

        // The series key.
        keyLength = 0
        withUnsafeBytes(of: UInt32(familyID).littleEndian) { appendKey($0) }
        if let labels = info.labels {
            if let error = documentedKey(
                line, parsed.tags, info: info, labels: labels, familyID: familyID, service: service, stats: &stats)
            {
                return error
            }
        } else if let error = undocumentedKey(line, parsed.tags, info: info, stats: &stats) {
            return error
        }
        let k = UnsafeRawBufferPointer(start: key, count: keyLength)
        let h = ByteHash.hash(k)
        let refusal = updates.withUnsafeBufferPointer { u in
            registry.apply(
                service: service, family: familyID, key: k, hash: h, width: info.width,
                generation: generation, stamp: stamp, u)
        }
        switch refusal {
        case nil: return nil
        case .stale?:
            // A reload swapped the catalogue while this line was on its way: resolve it again.
            dropCaches(generation: registry.families.generation)
            return fold(line, now: now, stats: &stats)
        case let refusal?:
            return cardinalityError(refusal, info: info, familyID: familyID, service: service)
        }
    }

    mutating func documentedKey(
        _ line: UnsafeRawBufferPointer, _ tagRange: Range<Int>, info: FamilyInfo, labels: [[UInt8]],
        familyID: Int, service: Int, stats: inout IngestStats
    ) -> LineError? {
        labelValues.reset()
        for _ in 0..<labels.count { labelValues.append(0..<0) }
        for t in 0..<tagList.count {
            let tag = tagList[t]
            guard tag.hasValue else {
                stats.valuelessTags += 1
                continue
            }
            if isServiceTag(line, tag.key) { continue }
            var matched = false
            let keyLength = tag.key.count
            let keyStart = line.baseAddress! + tag.key.lowerBound
            let offsets = info.labelOffsets
            for i in 0..<info.labelCount where offsets[i + 1] &- offsets[i] == keyLength {
                if ByteHash.equal(info.labelFlat + offsets[i], keyStart, count: keyLength) {
                    if !labelValues[i].isEmpty { stats.duplicateTags += 1 }
                    labelValues[i] = tag.value
                    matched = true
                    break
                }
            }
            if !matched && !isDropped(info, keyStart, keyLength) {
                stats.countDroppedTag(
                    family: familyID, tag: UnsafeRawBufferPointer(rebasing: line[tag.key]), scratch: &scratch)
            }
        }
        let serviceName = registry.services.nameBytes[service]
        for i in labels.indices {
            if i == info.serviceLabel {
                serviceName.withUnsafeBytes { appendKey($0) }
            } else {
                guard !labelValues[i].isEmpty else {
                    return LineError(
                        .missingLabel,
                        "'\(info.name)' needs label '\(String(decoding: labels[i], as: UTF8.self))' (tag \(String(decoding: labels[i], as: UTF8.self)):<value>)"
                    )
                }
                appendKey(UnsafeRawBufferPointer(rebasing: line[labelValues[i]]))
            }
            appendKey(byte: 0)
        }
        return nil
    }

    mutating func undocumentedKey(
        _ line: UnsafeRawBufferPointer, _ tagRange: Range<Int>, info: FamilyInfo, stats: inout IngestStats
    ) -> LineError? {
        pairs.removeAll(keepingCapacity: true)
        for t in 0..<tagList.count {
            let tag = tagList[t]
            guard tag.hasValue else {
                stats.valuelessTags += 1
                continue
            }
            if isServiceTag(line, tag.key) { continue }
            let raw = UnsafeRawBufferPointer(rebasing: line[tag.key])
            guard let name = MetricName.sanitizeLabel(raw), !MetricName.isReservedLabel(name, for: info.type) else {
                return LineError(
                    .invalidLabelName,
                    "tag '\(LogEscaper.escape(raw, limit: 64))' cannot be a label name of '\(info.name)'")
            }
            if tag.value.isEmpty { continue }  // an empty label value is the same as no label
            var label = name  // drop_labels names the sanitized label name
            if label.withUTF8({ isDropped(info, $0.baseAddress!, $0.count) }) { continue }
            if let i = pairs.firstIndex(where: { $0.name == name }) {
                stats.duplicateTags += 1
                pairs[i] = (tag.key, tag.value, name)  // duplicate tag: the last one wins
            } else {
                pairs.append((tag.key, tag.value, name))
            }
        }
        pairs.sort { $0.name < $1.name }
        for p in pairs {
            var name = p.name
            name.withUTF8 { appendKey(UnsafeRawBufferPointer($0)) }
            appendKey(byte: 1)
            appendKey(UnsafeRawBufferPointer(rebasing: line[p.value]))
            appendKey(byte: 0)
        }
        return nil
    }

    /// Whether the tag name at `p` is one `drop_labels` aggregates away.
    func isDropped(_ info: FamilyInfo, _ p: UnsafeRawPointer, _ n: Int) -> Bool {
        for d in info.dropped where d.count == n {
            if d.withUnsafeBytes({ ByteHash.equal($0.baseAddress!, p, count: n) }) { return true }
        }
        return false
    }

    @inline(__always)
    func isServiceTag(_ line: UnsafeRawBufferPointer, _ key: Range<Int>) -> Bool {
        let n = key.count
        guard n == 7 || n == 12 else { return false }
        let p = line.baseAddress! + key.lowerBound
        return n == 7 ? Self.memEqual(p, "service") : Self.memEqual(p, "service_name")
    }

    @inline(__always)
    static func memEqual(_ p: UnsafeRawPointer, _ s: StaticString) -> Bool {
        ByteHash.equal(p, UnsafeRawPointer(s.utf8Start), count: s.utf8CodeUnitCount)
    }

    func firstIndex(of byte: UInt8, in line: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        let i = ByteScan.find(byte, line, from: range.lowerBound, to: range.upperBound)
        return i < range.upperBound ? i : nil
    }

    mutating func resolveFamily(_ name: UnsafeRawBufferPointer, kind: SampleKind) -> FamilyTable.Resolution {
        let h = ByteHash.hash(name)
        if let i = familyCache.find(name, hash: h) { return .found(Int(familyCacheIDs[i])) }
        let r = registry.families.resolve(name, kind: kind)
        if case .found(let id) = r {
            if familyCache.count >= Self.maxCachedNames {
                familyCache = ByteKeyTable(capacity: 128)
                familyCacheIDs.removeAll(keepingCapacity: true)
            }
            familyCache.insert(name, hash: h)
            familyCacheIDs.append(Int32(id))
        }
        return r
    }

    func cardinalityError(_ refusal: Registry.Refusal, info: FamilyInfo, familyID: Int, service: Int) -> LineError {
        let serviceName = registry.services.names[service]
        switch refusal {
        case .setOverflow(let limit):
            return LineError(
                .setOverflow,
                "'\(info.name)' of '\(serviceName)' already holds \(limit) distinct values in its set_window (set_max_values); the new ones were not counted"
            )
        case .stale:  // only reached if the catalogue changed again while the line was retried
            return LineError(.unknownFamily, "the catalogue changed while this line was folded; send it again")
        case .serviceLimit(let limit):
            return LineError(
                .cardinalityLimit,
                "service '\(serviceName)' holds \(limit) series (limits.max_series_per_service); no new series until some expire or the limit is raised"
            )
        case .familyLimit(let limit):
            var detail =
                "'\(info.name)' of '\(serviceName)' holds \(limit) series (its limit); existing series keep updating"
            if registry.shouldExplain(service: service, family: familyID),
                let busiest = registry.busiestLabel(service: service, family: familyID)
            {
                let label: String
                if let labels = info.labels, busiest.index < labels.count {
                    label = "label '\(String(decoding: labels[busiest.index], as: UTF8.self))'"
                } else {
                    label = "label #\(busiest.index + 1)"
                }
                detail +=
                    "; \(label) has the most distinct values (\(busiest.distinct)): a unique id in a label? see limits.families"
            }
            return LineError(.cardinalityLimit, detail)
        }
    }

    mutating func info(_ id: Int) -> FamilyInfo {
        if id < infos.count, let info = infos[id] { return info }
        let info = FamilyInfo(registry.families.descriptor(id))
        if id >= infos.count { infos.append(contentsOf: repeatElement(nil, count: id + 1 - infos.count)) }
        infos[id] = info
        return info
    }
}

/// An array reused line after line: `reset()` only rewinds the count, and elements live in a
/// raw buffer, so the hot path pays neither `removeAll` nor the uniqueness check every Array
/// mutation makes. Copies share the buffer: it belongs to one `FoldState`.
struct ScratchArray<Element> {
    final class Storage {
        var base: UnsafeMutablePointer<Element>
        var capacity: Int
        /// Slots below this hold an element (assigned over when reused, deinitialized at the end).
        var initialized = 0

        init() {
            capacity = 16
            base = .allocate(capacity: 16)
        }

        func grow() {
            let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
            bigger.moveInitialize(from: base, count: initialized)
            base.deallocate()
            base = bigger
            capacity *= 2
        }

        deinit {
            base.deinitialize(count: initialized)
            base.deallocate()
        }
    }

    private let storage = Storage()
    private(set) var count = 0

    @inline(__always)
    mutating func reset() { count = 0 }

    @inline(__always)
    mutating func append(_ element: Element) {
        if count < storage.initialized {
            storage.base[count] = element
        } else {
            if count == storage.capacity { storage.grow() }
            (storage.base + count).initialize(to: element)
            storage.initialized = count + 1
        }
        count += 1
    }

    @inline(__always)
    subscript(i: Int) -> Element {
        get {
            precondition(i >= 0 && i < count, "ScratchArray index out of range")
            return storage.base[i]
        }
        nonmutating set {
            precondition(i >= 0 && i < count, "ScratchArray index out of range")
            storage.base[i] = newValue
        }
    }

    var last: Element? { count > 0 ? storage.base[count - 1] : nil }

    @inline(__always)
    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.base, count: count))
    }
}
