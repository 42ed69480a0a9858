/// Folds StatsD packets into the registry. One per receive loop: it is not thread-safe, and
/// keeps its own scratch buffers and family cache so that a line for an existing series
/// allocates nothing and takes one shard lock.
public final class Ingestor {
    /// The hot-path view of a family, cached per loop.
    struct FamilyInfo {
        enum Special { case none, serviceUp, serviceStartTime }
        var type: FamilyType
        var unit: FamilyUnit
        var name: String
        /// Documented label names as bytes; nil for undocumented families.
        var labels: [[UInt8]]?
        var serviceLabel: Int?
        var buckets: [Double]
        var width: Int
        var special: Special
    }

    public let registry: Registry
    public let cell: IngestStatsCell
    /// Set for sockets bound to one service: lines naming another service are refused.
    public let boundService: Int?
    public let defaultService: Int?
    /// Longer lines are refused as `line_too_long`.
    public let maxLineLength: Int
    private let limiter: RejectLogLimiter
    private let onReject: (Rejection) -> Void

    private var familyCache = ByteKeyTable(capacity: 128)
    private var familyCacheIDs: [Int32] = []
    private var infos: [FamilyInfo?] = []
    private var key: [UInt8] = []
    private var scratch: [UInt8] = []
    private var labelValues: [Range<Int>] = []
    private var pairs: [(key: Range<Int>, value: Range<Int>, name: String)] = []
    private var updates: [SampleUpdate] = []
    private var numbers: [(value: Double, signed: Bool)] = []
    private var seen: [Bool]
    private var touched: [Int] = []

    static let maxCachedNames = 100_000

    public init(
        registry: Registry, transport: String, boundService: Int? = nil, defaultService: Int? = nil,
        maxLineLength: Int = 65_536, limiter: RejectLogLimiter, onReject: @escaping (Rejection) -> Void
    ) {
        self.maxLineLength = maxLineLength
        self.registry = registry
        self.cell = IngestStatsCell(transport: transport)
        self.boundService = boundService
        self.defaultService = defaultService
        self.limiter = limiter
        self.onReject = onReject
        seen = [Bool](repeating: false, count: registry.services.count)
        key.reserveCapacity(256)
        updates.reserveCapacity(8)
        registry.register(cell)
    }

    /// Folds every line of one packet (lines separated by `\n`, `\r\n` tolerated).
    public func ingest(packet: UnsafeRawBufferPointer, now: Double) {
        cell.state.withLock { stats in
            stats.packets += 1
            var start = 0
            let n = packet.count
            while start < n {
                var end = start
                while end < n && packet[end] != 0x0A { end += 1 }
                var lo = start
                var hi = end
                while hi > lo && (packet[hi - 1] == 0x0D || packet[hi - 1] == 0x20 || packet[hi - 1] == 0x09) { hi -= 1 }
                while lo < hi && (packet[lo] == 0x20 || packet[lo] == 0x09) { lo += 1 }
                if lo < hi {
                    stats.lines += 1
                    let line = UnsafeRawBufferPointer(rebasing: packet[lo..<hi])
                    if let error = fold(line, now: now, stats: &stats) {
                        reject(error, line: line, now: now, stats: &stats)
                    } else {
                        stats.accepted += 1
                    }
                }
                start = end + 1
            }
        }
        for s in touched {
            registry.services.touch(s, now: now)
            seen[s] = false
        }
        touched.removeAll(keepingCapacity: true)
    }

    /// Counts and logs a line the transport refused before it could be folded (an overlong
    /// TCP line, a half line at disconnect); `line` may be a prefix of it.
    public func refuse(_ reason: RejectReason, _ detail: String, line: UnsafeRawBufferPointer, now: Double) {
        cell.state.withLock { stats in
            stats.lines += 1
            reject(LineError(reason, detail), line: line, now: now, stats: &stats)
        }
    }

    private func reject(_ error: LineError, line: UnsafeRawBufferPointer, now: Double, stats: inout IngestStats) {
        stats.rejected[error.reason.ordinal] += 1
        if let suppressed = limiter.admit(error.reason, now: now) {
            onReject(Rejection(
                reason: error.reason, detail: error.detail,
                line: LogEscaper.escape(line, limit: 200), transport: cell.transport, suppressed: suppressed))
        }
    }

    /// nil when folded; otherwise why not. Nothing is applied unless the whole line is valid.
    private func fold(_ line: UnsafeRawBufferPointer, now: Double, stats: inout IngestStats) -> LineError? {
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
        var tags = TagIterator(line, parsed.tags)
        while let tag = tags.next() {
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
            return LineError(.serviceMismatch, "prefix names '\(registry.services.names[p])' but the tag names '\(registry.services.names[t])'")
        }
        guard let service = tagService ?? prefixService ?? boundService ?? defaultService else {
            return LineError(.noService, "no service_name/service tag, no <service>. prefix and no default_service")
        }
        if let b = boundService, b != service {
            return LineError(.serviceMismatch, "this socket belongs to '\(registry.services.names[b])', the line names '\(registry.services.names[service])'")
        }
        if !seen[service] {
            seen[service] = true
            touched.append(service)
        }

        // Values: all parsed before anything else happens, so a bad value creates nothing.
        numbers.removeAll(keepingCapacity: true)
        var v = parsed.values.lowerBound
        while v <= parsed.values.upperBound {
            var e = v
            while e < parsed.values.upperBound && line[e] != UInt8(ascii: ":") { e += 1 }
            guard let x = NumberParser.parse(line, v..<e) else {
                return LineError(.invalidValue, "value '\(LineError.text(line, v..<e))' is not a finite decimal number")
            }
            numbers.append((x, line[v] == UInt8(ascii: "+") || line[v] == UInt8(ascii: "-")))
            v = e + 1
        }
        if parsed.kind == .counter, let negative = numbers.first(where: { $0.value < 0 }) {
            return LineError(.invalidValue, "a counter cannot go down (value \(negative.value))")
        }

        // Which family.
        let familyID: Int
        switch resolveFamily(UnsafeRawBufferPointer(rebasing: line[nameRange]), kind: parsed.kind) {
        case .found(let id): familyID = id
        case .rejected(let reason, let detail): return LineError(reason, detail)
        }
        let info = self.info(familyID)
        guard info.type.accepts(parsed.kind) else {
            return LineError(.typeMismatch, "'\(info.name)' is a \(info.type.rawValue), the line is |\(parsed.kind.statsdField)")
        }
        if parsed.kind == .timer && info.unit != .seconds {
            return LineError(.unitMismatch, "'\(info.name)' is not measured in seconds; send |h or |d in its unit instead of |ms")
        }

        updates.removeAll(keepingCapacity: true)
        for (x, signed) in numbers {
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
                return LineError(.unsupportedType, "sets (|s) are not supported yet")
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
        key.removeAll(keepingCapacity: true)
        withUnsafeBytes(of: UInt32(familyID).littleEndian) { key.append(contentsOf: $0) }
        if let labels = info.labels {
            if let error = documentedKey(line, parsed.tags, info: info, labels: labels, familyID: familyID, service: service, stats: &stats) {
                return error
            }
        } else if let error = undocumentedKey(line, parsed.tags, info: info, stats: &stats) {
            return error
        }
        key.withUnsafeBytes { k in
            let h = ByteHash.hash(k)
            updates.withUnsafeBufferPointer { u in
                registry.apply(service: service, key: k, hash: h, width: info.width, u)
            }
        }
        return nil
    }

    private func documentedKey(
        _ line: UnsafeRawBufferPointer, _ tagRange: Range<Int>, info: FamilyInfo, labels: [[UInt8]],
        familyID: Int, service: Int, stats: inout IngestStats
    ) -> LineError? {
        labelValues.removeAll(keepingCapacity: true)
        labelValues.append(contentsOf: repeatElement(0..<0, count: labels.count))
        var tags = TagIterator(line, tagRange)
        while let tag = tags.next() {
            guard tag.hasValue else { stats.valuelessTags += 1; continue }
            if isServiceTag(line, tag.key) { continue }
            var matched = false
            for (i, name) in labels.enumerated() where name.count == tag.key.count {
                if name.withUnsafeBytes({ ByteHash.equal($0.baseAddress!, line.baseAddress! + tag.key.lowerBound, count: name.count) }) {
                    labelValues[i] = tag.value
                    matched = true
                    break
                }
            }
            if !matched {
                stats.countDroppedTag(family: familyID, tag: UnsafeRawBufferPointer(rebasing: line[tag.key]), scratch: &scratch)
            }
        }
        let serviceName = registry.services.nameBytes[service]
        for i in labels.indices {
            if i == info.serviceLabel {
                key.append(contentsOf: serviceName)
            } else {
                guard !labelValues[i].isEmpty else {
                    return LineError(.missingLabel, "'\(info.name)' needs label '\(String(decoding: labels[i], as: UTF8.self))' (tag \(String(decoding: labels[i], as: UTF8.self)):<value>)")
                }
                key.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[labelValues[i]]))
            }
            key.append(0)
        }
        return nil
    }

    private func undocumentedKey(_ line: UnsafeRawBufferPointer, _ tagRange: Range<Int>, info: FamilyInfo, stats: inout IngestStats) -> LineError? {
        pairs.removeAll(keepingCapacity: true)
        var tags = TagIterator(line, tagRange)
        while let tag = tags.next() {
            guard tag.hasValue else { stats.valuelessTags += 1; continue }
            if isServiceTag(line, tag.key) { continue }
            let raw = UnsafeRawBufferPointer(rebasing: line[tag.key])
            guard let name = MetricName.sanitizeLabel(raw), !MetricName.isReservedLabel(name, for: info.type) else {
                return LineError(.invalidLabelName, "tag '\(LogEscaper.escape(raw, limit: 64))' cannot be a label name of '\(info.name)'")
            }
            if tag.value.isEmpty { continue }  // an empty label value is the same as no label
            if let i = pairs.firstIndex(where: { $0.name == name }) {
                pairs[i] = (tag.key, tag.value, name)  // duplicate tag: the last one wins
            } else {
                pairs.append((tag.key, tag.value, name))
            }
        }
        pairs.sort { $0.name < $1.name }
        for p in pairs {
            key.append(contentsOf: p.name.utf8)
            key.append(1)
            key.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[p.value]))
            key.append(0)
        }
        return nil
    }

    @inline(__always)
    private func isServiceTag(_ line: UnsafeRawBufferPointer, _ key: Range<Int>) -> Bool {
        let n = key.count
        guard n == 7 || n == 12 else { return false }
        let p = line.baseAddress! + key.lowerBound
        return n == 7 ? memEqual(p, "service") : memEqual(p, "service_name")
    }

    @inline(__always)
    private func memEqual(_ p: UnsafeRawPointer, _ s: StaticString) -> Bool {
        ByteHash.equal(p, UnsafeRawPointer(s.utf8Start), count: s.utf8CodeUnitCount)
    }

    private func firstIndex(of byte: UInt8, in line: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        var i = range.lowerBound
        while i < range.upperBound {
            if line[i] == byte { return i }
            i += 1
        }
        return nil
    }

    private func resolveFamily(_ name: UnsafeRawBufferPointer, kind: SampleKind) -> FamilyTable.Resolution {
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

    private func info(_ id: Int) -> FamilyInfo {
        if id < infos.count, let info = infos[id] { return info }
        let d = registry.families.descriptor(id)
        let special: FamilyInfo.Special =
            d.isDocumented && d.name == "service_up" ? .serviceUp
            : d.isDocumented && d.name == "service_start_time" ? .serviceStartTime : .none
        let info = FamilyInfo(
            type: d.type, unit: d.unit, name: d.name,
            labels: d.labels.map { $0.map { Array($0.utf8) } },
            serviceLabel: d.labels?.firstIndex(of: "service_name"),
            buckets: d.buckets, width: d.slotWidth, special: special)
        if id >= infos.count { infos.append(contentsOf: repeatElement(nil, count: id + 1 - infos.count)) }
        infos[id] = info
        return info
    }
}
