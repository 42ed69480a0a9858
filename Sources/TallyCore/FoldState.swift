/// An `Ingestor`'s state and the folding logic, as a value so the optimizer sees every access.
struct FoldState {
    let registry: Registry
    let transport: String
    var boundService: Int?
    var defaultService: Int?
    var maxLineLength: Int
    var dropClientTelemetry: Bool
    let limiter: RejectLogLimiter
    let onReject: (Rejection) -> Void
    /// The series key under construction (see `SeriesKey`): its only owner.
    var keyStorage: RawBuffer<UInt8>
    var keyCapacity: Int
    var key: UnsafeMutableRawPointer { keyStorage.raw }
    /// Process-wide constants, copied in once: a static read per line costs a `swift_once`
    /// check (and the name table a retain and a release) every time.
    let hashSeed = ByteHash.processSeed
    let nameChars = RawBuffer(copying: StatsDLine.nameChars)
    var keyLength = 0
    /// The current line's service and family once known (-1 before), for the per-service and
    /// per-family counts.
    var lineService = -1
    var lineFamily = -1

    var familyCache = ByteKeyTable(capacity: 128)
    /// Lines folded before, by their bytes without the value (see `LineCache`).
    var lineCache = LineCache()
    /// Cleared by the key builders when a line counted something besides itself (a valueless,
    /// duplicate or dropped tag): such a line is not kept in `lineCache`.
    var lineCacheable = true
    /// The current packet's lines (trimmed, as ranges of it) and their shapes.
    var packetLines = ScratchArray<(lo: Int, hi: Int, shape: LineCache.Shape)>()
    var familyCacheIDs: [Int32] = []
    var infos: [FamilyFoldView?] = []
    /// `infos[id].hot`, by family id, for the lines that need nothing else.
    var hots: [FamilyFoldView.Hot] = []
    var scratch: [UInt8] = []
    var labelValues = ScratchArray<Range<Int>>()
    var tagList = ScratchArray<TagIterator.Tag>()
    var pairs: [(key: Range<Int>, value: Range<Int>, name: String)] = []
    var updates = ScratchArray<SampleUpdate>()
    var numbers = ScratchArray<(value: Double, signed: Bool)>()
    /// This loop's lines by service and family (its cell's; see `LineCounters`).
    let counters: LineCounters
    /// The services as this loop knows them (refreshed with the generation).
    var serviceNames: ServiceTable.Names
    var seen: [Bool]
    var touched: [Int] = []
    /// The family table generation the caches belong to.
    var generation = 0
    /// This packet's time as a registry stamp.
    var stamp: UInt32 = 0

    /// A line that passed every check and waits for its registry update until the packet's
    /// other lines are parsed (`applyQueued`): its slot was prefetched when it was queued, so
    /// with many series the cache misses of one line overlap the parsing of the next ones.
    struct Queued {
        var line: UnsafeRawBufferPointer
        var service: Int
        var family: Int
        var hash: UInt64
        var width: Int
        var generation: Int
        /// Its key in `queuedKeys`, its updates in `queuedUpdates`.
        var key: Range<Int>
        var updates: Range<Int>
        var trace: Range<Int>
        var span: Range<Int>
    }
    var queued = ScratchArray<Queued>()
    var queuedUpdates = ScratchArray<SampleUpdate>()
    /// The queued lines' keys back to back, allocated by the first line queued (an ingestor
    /// whose tables stay small never queues); a key that does not fit is applied at once.
    var queuedKeys: RawBuffer<UInt8>?
    static let queuedKeysCapacity = 64 * 1024
    var queuedKeysLength = 0
    /// Set by `fold` when it queued the line instead of applying it.
    var lineQueued = false
    /// Lines queued since start (tests read it: small registries never queue).
    var queuedTotal = 0

    static let maxCachedNames = 100_000

    init(
        registry: Registry, transport: String, boundService: Int?, defaultService: Int?, maxLineLength: Int,
        dropClientTelemetry: Bool, limiter: RejectLogLimiter, onReject: @escaping (Rejection) -> Void,
        keyCapacity: Int, counters: LineCounters
    ) {
        self.counters = counters
        self.registry = registry
        self.transport = transport
        self.boundService = boundService
        self.defaultService = defaultService
        self.maxLineLength = maxLineLength
        self.dropClientTelemetry = dropClientTelemetry
        self.limiter = limiter
        self.onReject = onReject
        keyStorage = RawBuffer(capacity: keyCapacity)
        self.keyCapacity = keyCapacity
        serviceNames = registry.services.snapshot
        seen = [Bool](repeating: false, count: serviceNames.count)
        generation = registry.families.generation
        if let settings = registry.ingestSettings { adopt(settings) }
    }

    /// Settings a reload changed (`default_service`, `max_line_length`,
    /// `drop_client_telemetry`); the key buffer grows with the line limit.
    mutating func adopt(_ settings: Registry.IngestSettings) {
        defaultService = settings.defaultService.flatMap { serviceNames.index(of: $0) }
        maxLineLength = settings.maxLineLength
        dropClientTelemetry = settings.dropClientTelemetry
        let capacity = Self.keyCapacity(maxLineLength: maxLineLength)
        if capacity > keyCapacity {
            keyStorage = RawBuffer(capacity: capacity)
            keyCapacity = capacity
        }
    }

    /// A key is at most the family id, every byte of the line, a NUL per label and the
    /// service name per label: twice the line plus slack bounds it.
    static func keyCapacity(maxLineLength: Int) -> Int { 2 * maxLineLength + 4096 }

    /// Once per packet: the time stamp, and fresh caches if the catalogue was swapped.
    @inline(__always)
    mutating func beginPacket(now: Double) {
        stamp = registry.stamp(now)
        let g = registry.families.generation
        if g != generation { dropCaches(generation: g) }
    }

    /// A reload moved the registry's generation: the catalogue, the services or the ingest
    /// settings changed. Everything cached from them is taken afresh.
    mutating func dropCaches(generation g: Int) {
        generation = g
        familyCache = ByteKeyTable(capacity: 128)
        lineCache.invalidate()
        familyCacheIDs.removeAll(keepingCapacity: true)
        infos.removeAll(keepingCapacity: true)
        hots.removeAll(keepingCapacity: true)
        let names = registry.services.snapshot
        if names.count != serviceNames.count || names.active != serviceNames.active {
            serviceNames = names
            if seen.count < names.count {
                seen.append(contentsOf: repeatElement(false, count: names.count - seen.count))
            }
        }
        if let settings = registry.ingestSettings { adopt(settings) }
    }

    mutating func ingest(packet: UnsafeRawBufferPointer, now: Double, stats: inout IngestStats) {
        stats.packets += 1
        let n = packet.count
        var start = 0
        if lineCache.isResting {
            // No shapes to find: each line folds as soon as it is cut.
            var lines = 0
            while start < n {
                let (lo, hi, end) = Self.nextLine(packet, from: start)
                if lo < hi {
                    foldLine(
                        UnsafeRawBufferPointer(rebasing: packet[lo..<hi]), shape: LineCache.Shape(), now: now,
                        stats: &stats)
                    lines &+= 1
                }
                start = end &+ 1
            }
            lineCache.rest(lines: lines)
        } else {
            // First the lines and their shapes, each shape's cache slot prefetched: the slot of
            // a line is then on its way while the lines before it fold.
            packetLines.reset()
            while start < n {
                let (lo, hi, end) = Self.nextLine(packet, from: start)
                if lo < hi {
                    let shape = lineCache.shape(UnsafeRawBufferPointer(rebasing: packet[lo..<hi]), seed: hashSeed)
                    if shape.valid { lineCache.prefetch(shape) }
                    packetLines.append((lo, hi, shape))
                }
                start = end &+ 1
            }
            for i in 0..<packetLines.count {
                let (lo, hi, shape) = packetLines[i]
                foldLine(UnsafeRawBufferPointer(rebasing: packet[lo..<hi]), shape: shape, now: now, stats: &stats)
            }
        }
        if queued.count > 0 { applyQueued(now: now, stats: &stats) }
    }

    /// The line starting at `start`: its bytes `lo..<hi` without surrounding blanks (and a
    /// `\r` before the newline), and where it ends (its newline, or the packet's end).
    @inline(__always)
    static func nextLine(_ packet: UnsafeRawBufferPointer, from start: Int) -> (lo: Int, hi: Int, end: Int) {
        let end = ByteScan.find(0x0A, packet, from: start, to: packet.count)
        var lo = start
        var hi = end
        while hi > lo && (packet[hi - 1] == 0x0D || packet[hi - 1] == 0x20 || packet[hi - 1] == 0x09) { hi -= 1 }
        while lo < hi && (packet[lo] == 0x20 || packet[lo] == 0x09) { lo += 1 }
        return (lo, hi, end)
    }

    /// One line of a packet, counted and folded (from the line cache when its shape is there).
    @inline(__always)
    mutating func foldLine(
        _ line: UnsafeRawBufferPointer, shape: LineCache.Shape, now: Double, stats: inout IngestStats
    ) {
        stats.lines += 1
        lineService = -1
        lineFamily = -1
        lineQueued = false
        if let skip = Self.skipKind(line, dropClientTelemetry: dropClientTelemetry) {
            stats.skipped[Int(skip.rawValue)] += 1
            counters.count(service: lineService, family: lineFamily)
            return
        }
        // `error` is bound once in either branch (moved, never copied or overwritten): a copy
        // or an overwrite retains or releases its (nil) string once per line.
        let error: LineError?
        if shape.valid && line.count <= maxLineLength,
            let entry = lineCache.find(shape, line, bound: Int32(truncatingIfNeeded: boundService ?? -1)),
            let known = foldKnown(line, entry, shape, now: now, stats: &stats, queueing: true)
        {
            error = known
        } else {
            // A shape folded before is handled above, outside `fold`, whose frame a short line
            // should not pay for.
            error = fold(line, now: now, stats: &stats, queueing: true, shape: shape)
        }
        if let error {
            reject(error, line: line, now: now, stats: &stats)
        } else if !lineQueued {
            stats.accepted += 1
        }
        // A queued line is counted when it is applied.
        if !lineQueued { counters.count(service: lineService, family: lineFamily) }
    }

    /// Queues the line whose key and updates were just built (its slot is being prefetched);
    /// false when its key does not fit in what is left of `queuedKeys` (it is applied at once).
    /// Out of line: only lines for large tables come here.
    @inline(never)
    mutating func queue(
        _ line: UnsafeRawBufferPointer, key k: UnsafeRawBufferPointer, service: Int, family: Int, hash: UInt64,
        width: Int, trace: Range<Int>, span: Range<Int>
    ) -> Bool {
        let byteCount = k.count
        if queuedKeys == nil { queuedKeys = RawBuffer(capacity: Self.queuedKeysCapacity) }
        guard queuedKeysLength &+ byteCount <= Self.queuedKeysCapacity else { return false }
        Self.copy(to: queuedKeys.unsafelyUnwrapped.raw + queuedKeysLength, from: k.baseAddress!, count: byteCount)
        let first = queuedUpdates.count
        for j in 0..<updates.count { queuedUpdates.append(updates[j]) }
        queued.append(
            Queued(
                line: line, service: service, family: family, hash: hash, width: width, generation: generation,
                key: queuedKeysLength..<(queuedKeysLength &+ byteCount), updates: first..<queuedUpdates.count,
                trace: trace, span: span))
        queuedKeysLength &+= byteCount
        queuedTotal &+= 1
        lineQueued = true
        return true
    }

    /// The packet's queued lines, in order: each applied like `fold` would have, and counted.
    mutating func applyQueued(now: Double, stats: inout IngestStats) {
        // A lookup in a large table is a chain of cache misses (slot, entry, key and value):
        // each queued line's slot was prefetched when it was queued and is here by now. One
        // pass reads the slots and starts loading the entries, the next reads the entries and
        // starts loading keys and values, so the lines' misses overlap instead of adding up.
        // Each pass takes the shard lock once more per line (measured: still 20-35 % less
        // time per line at 100k and 1M series; `tally-bench fold`).
        for i in 0..<queued.count { registry.prefetchEntry(service: queued[i].service, hash: queued[i].hash) }
        for i in 0..<queued.count { registry.prefetchKey(service: queued[i].service, hash: queued[i].hash) }
        for i in 0..<queued.count {
            let q = queued[i]
            let k = UnsafeRawBufferPointer(
                start: queuedKeys.unsafelyUnwrapped.raw + q.key.lowerBound, count: q.key.count)
            var hint = SeriesHint()  // lines for large tables are rarely in the line cache
            let refusal = queuedUpdates.withUnsafeBufferPointer { u in
                registry.apply(
                    service: q.service, family: q.family, key: k, hash: q.hash, width: q.width,
                    generation: q.generation, stamp: stamp, UnsafeBufferPointer(rebasing: u[q.updates]), hint: &hint)
            }
            lineService = q.service
            lineFamily = q.family
            switch refusal {
            case nil:
                stats.accepted += 1
                if !q.trace.isEmpty {
                    keepExemplar(
                        q.line, trace: q.trace, span: q.span, type: hot(q.family).type,
                        last: queuedUpdates[q.updates.upperBound - 1], service: q.service, key: k, hash: q.hash,
                        now: now, stats: &stats)
                }
            case .stale?:
                // A reload swapped the catalogue since the line was queued: resolve it again.
                dropCaches(generation: registry.families.generation)
                lineService = -1
                lineFamily = -1
                if let error = fold(q.line, now: now, stats: &stats, queueing: false) {
                    reject(error, line: q.line, now: now, stats: &stats)
                } else {
                    stats.accepted += 1
                }
            case let refusal?:
                reject(
                    cardinalityError(refusal, info: info(q.family), familyID: q.family, service: q.service),
                    line: q.line, now: now, stats: &stats)
            }
            counters.count(service: lineService, family: lineFamily)
        }
        queued.reset()
        queuedUpdates.reset()
        queuedKeysLength = 0
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
        stats.attributeRejection(error.reason, service: lineService)
        if let suppressed = limiter.admit(error.reason, now: now, force: error.alwaysLog) {
            onReject(
                Rejection(
                    reason: error.reason, detail: error.detail,
                    line: LogEscaper.escape(line, limit: 200), transport: transport, suppressed: suppressed))
        }
    }

    @inline(__always)
    mutating func appendKey(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0 else { return }
        precondition(keyLength + n <= keyCapacity, "series key buffer overflow")
        Self.copy(to: key + keyLength, from: bytes.baseAddress!, count: n)
        keyLength += n
    }

    /// A copy of `n` bytes; label values are mostly under 16, and for those a call to memcpy
    /// costs more than the copy: two overlapping loads and stores instead.
    @inline(__always)
    static func copy(to d: UnsafeMutableRawPointer, from s: UnsafeRawPointer, count n: Int) {
        if n >= 8 && n <= 16 {
            let a = s.loadUnaligned(as: UInt64.self)
            let b = s.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
            d.storeBytes(of: a, as: UInt64.self)
            d.storeBytes(of: b, toByteOffset: n &- 8, as: UInt64.self)
        } else if n >= 4 && n < 8 {
            let a = s.loadUnaligned(as: UInt32.self)
            let b = s.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
            d.storeBytes(of: a, as: UInt32.self)
            d.storeBytes(of: b, toByteOffset: n &- 4, as: UInt32.self)
        } else if n > 0 && n < 4 {
            let a = s.load(as: UInt8.self)
            let b = s.load(fromByteOffset: n >> 1, as: UInt8.self)
            let c = s.load(fromByteOffset: n &- 1, as: UInt8.self)
            d.storeBytes(of: a, as: UInt8.self)
            d.storeBytes(of: b, toByteOffset: n >> 1, as: UInt8.self)
            d.storeBytes(of: c, toByteOffset: n &- 1, as: UInt8.self)
        } else if n > 16 {
            d.copyMemory(from: s, byteCount: n)
        }
    }

    @inline(__always)
    mutating func appendKey(byte: UInt8) {
        precondition(keyLength < keyCapacity, "series key buffer overflow")
        key.storeBytes(of: byte, toByteOffset: keyLength, as: UInt8.self)
        keyLength += 1
    }

    /// nil when folded; otherwise why not. Nothing is applied unless the whole line is valid.
    /// With `queueing`, a line for a series (not a special family) may be queued for
    /// `applyQueued` instead of applied (`lineQueued` says so); nil then means "valid so far".
    /// `shape`: the line's `LineCache` shape, for the line to be kept there once it folded
    /// (the caller looked it up already); none for lines that are only being retried.
    mutating func fold(
        _ line: UnsafeRawBufferPointer, now: Double, stats: inout IngestStats, queueing: Bool = false,
        shape: LineCache.Shape = LineCache.Shape()
    ) -> LineError? {
        guard line.count <= maxLineLength else {
            return LineError(.lineTooLong, "line is \(line.count) bytes, max_line_length is \(maxLineLength)")
        }
        let bound = Int32(truncatingIfNeeded: boundService ?? -1)
        lineCacheable = true
        guard UTF8Validation.isValidWithoutNUL(line, 0..<line.count) else {
            return LineError(.invalidUTF8, "the line is not valid UTF-8 or holds a NUL byte")
        }
        var parsed = StatsDLine()
        if let error = StatsDLine.parse(line, nameChars: UnsafePointer(nameChars.pointer), into: &parsed) {
            return error
        }

        // Which service sent it. Decided here, but refused only after everything that is wrong
        // with the line itself (value, family, type, unit, labels): a sender fixing a line
        // learns the most useful thing first.
        var tagService: Int? = nil
        var serviceError: ServiceProblem? = nil
        stats.unknownFields += parsed.unknownFields
        var tags = TagIterator(line, parsed.tags, separator: parsed.tagStyle.separator)
        tagList.reset()
        var trace = 0..<0
        var span = 0..<0
        while var tag = tags.next() {
            guard tag.hasValue else {
                tagList.append(tag)
                continue
            }
            let role = Self.role(line, tag.key)
            tag.role = role.rawValue
            tagList.append(tag)  // scanned once; the label pass below walks this list
            guard role != .label else { continue }
            if role == .traceID {
                trace = tag.value
                continue
            }
            if role == .spanID {
                span = tag.value
                continue
            }
            guard serviceError == nil else { continue }
            let value = UnsafeRawBufferPointer(rebasing: line[tag.value])
            guard let s = serviceNames.index(of: value) else {
                serviceError = .unknown(tag.value)
                continue
            }
            if let t = tagService, t != s {
                serviceError = .tagsDisagree(first: t, then: s)
                continue
            }
            tagService = s
        }
        var nameRange = parsed.name
        var prefixService: Int? = nil
        if parsed.nameHasDot, let dot = firstIndex(of: 0x2E, in: line, parsed.name),
            let s = serviceNames.index(of: UnsafeRawBufferPointer(rebasing: line[parsed.name.lowerBound..<dot]))
        {
            prefixService = s
            nameRange = (dot + 1)..<parsed.name.upperBound
            if nameRange.isEmpty { return LineError(.invalidName, "nothing after the service prefix") }
        }
        var service = 0
        if serviceError == nil {
            if let t = tagService, let p = prefixService, t != p {
                serviceError = .prefixDisagrees(prefix: p, tag: t)
            } else if let s = tagService ?? prefixService ?? boundService ?? defaultService {
                if let b = boundService, b != s {
                    serviceError = .socketBelongs(to: b, line: s)
                } else {
                    service = s
                }
            } else {
                serviceError = .unnamed
            }
        }
        if serviceError == nil {
            lineService = service
            if !seen[service] {
                seen[service] = true
                touched.append(service)
            }
        }

        // Values: all parsed before anything else happens, so a bad value creates nothing.
        if let error = parseValues(line, parsed.values, kind: parsed.kind) { return error }

        // Which family.
        let familyID: Int
        switch resolveFamily(
            UnsafeRawBufferPointer(rebasing: line[nameRange]), kind: parsed.kind, create: serviceError == nil)
        {
        case .found(let id):
            familyID = id
            lineFamily = id
        case .rejected(let reason, let detail): return LineError(reason, detail)
        case .absent:
            // Not made, as the service is wrong; what is wrong with the line itself comes first,
            // as it does once another line has made the family.
            return labelProblemOfAbsentFamily(line, name: nameRange) ?? serviceError.map { error($0, line) }
        }
        let info = self.hot(familyID)
        guard info.type.accepts(parsed.kind) else {
            return LineError(
                .typeMismatch,
                "'\(self.info(familyID).name)' is a \(info.type.rawValue), the line is |\(parsed.kind.statsdField)")
        }
        if parsed.kind == .timer && info.unit != .seconds {
            return LineError(
                .unitMismatch,
                "'\(self.info(familyID).name)' is not measured in seconds; send |h or |d in its unit instead of |ms")
        }

        buildUpdates(kind: parsed.kind, sampleRate: parsed.sampleRate, info: info)

        if let serviceError, info.special != nil { return error(serviceError, line) }
        switch info.special {
        case .serviceUp:
            if case .set(let x) = updates.last! { registry.services.setExplicit(service, up: x != 0, now: now) }
            return nil
        case .serviceStartTime:
            if case .set(let x) = updates.last! { registry.services.setStartTime(service, x) }
            return nil
        case .serviceInfo?, nil:
            break
        }

        // The series key.
        keyLength = 0
        SeriesKey.withFamilyBytes(familyID) { appendKey($0) }
        if info.isDocumented {
            if let error = documentedKey(
                line, info: info, familyID: familyID, service: service, stats: &stats)
            {
                return error
            }
        } else if let error = undocumentedKey(line, familyID: familyID, stats: &stats) {
            return error
        }
        if let serviceError { return error(serviceError, line) }
        let h = ByteHash.hash(UnsafeRawBufferPointer(start: key, count: keyLength), seed: hashSeed)
        var cached: LineCache.Entry? = nil
        if shape.valid && lineCacheable && parsed.unknownFields == 0 && trace.isEmpty && span.isEmpty
            && parsed.kind != .set && info.special == nil && parsed.values.lowerBound == shape.colon &+ 1
        {
            cached = lineCache.insert(
                shape, line, bound: bound, service: service, family: familyID, kind: parsed.kind,
                sampleRate: parsed.sampleRate, key: key, keyLength: keyLength, keyHash: h)
        }
        return apply(
            line, key: UnsafeRawBufferPointer(start: key, count: keyLength), service: service, familyID: familyID,
            width: info.width, type: info.type, hash: h, trace: trace, span: span, now: now, stats: &stats,
            queueing: queueing, entry: cached)
    }

    /// The fold of a line whose shape `entry` knows: its value parsed and checked, its key
    /// and service taken from the entry, and the registry update as always. Nil (nothing
    /// done) when its value is not a plain number: the whole fold then says what is wrong with
    /// it, in its usual order. Otherwise folded, holding what the whole fold would return.
    @inline(__always)
    mutating func foldKnown(
        _ line: UnsafeRawBufferPointer, _ entry: LineCache.Entry, _ shape: LineCache.Shape, now: Double,
        stats: inout IngestStats, queueing: Bool
    ) -> LineError?? {
        let kind = entry.kind
        let values = (shape.colon &+ 1)..<shape.bar
        let familyID = entry.family
        let service = entry.service
        let width: Int
        let type: FamilyType
        if kind == .counter, let x = Self.singleCount(line, values) {
            // Most lines: one increment of a counter, whose family (a counter line is only
            // ever kept for a counter family) is one value wide. Neither the value list, the
            // family's view nor the update loop is needed, and they cost most of this path.
            updates.reset()
            updates.append(.add(x / entry.sampleRate))
            width = 1
            type = .counter
        } else {
            // A value that is not a finite number (or a negative counter): the whole fold finds
            // it and reports it in its usual order.
            guard parseValues(line, values, kind: kind) == nil else { return nil }
            let info = hot(familyID)
            buildUpdates(kind: kind, sampleRate: entry.sampleRate, info: info)
            width = info.width
            type = info.type
        }
        lineService = service
        lineFamily = familyID
        if !seen[service] {
            seen[service] = true
            touched.append(service)
        }
        return .some(
            apply(
                line, key: UnsafeRawBufferPointer(start: entry.key, count: entry.keyLength), service: service,
                familyID: familyID, width: width, type: type, hash: entry.keyHash, trace: 0..<0,
                span: 0..<0, now: now, stats: &stats, queueing: queueing, entry: entry))
    }

    /// The value of a counter line with one value, if it is a finite number that is not
    /// negative: what `parseValues` would accept as that line's only value. Several values
    /// (`1:2`) are not one number: nil, and `parseValues` takes them.
    @inline(__always)
    static func singleCount(_ line: UnsafeRawBufferPointer, _ values: Range<Int>) -> Double? {
        guard let x = NumberParser.parse(line, values), !(x < 0) else { return nil }
        return x
    }

    /// `line`'s values into `numbers`; a set's values are members (any bytes but `:`), kept
    /// as hashes.
    @inline(__always)
    mutating func parseValues(_ line: UnsafeRawBufferPointer, _ values: Range<Int>, kind: SampleKind) -> LineError? {
        numbers.reset()
        var v = values.lowerBound
        while v <= values.upperBound {
            let e = ByteScan.find(UInt8(ascii: ":"), line, from: v, to: values.upperBound)
            if kind == .set {
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
        if kind == .counter {
            for j in 0..<numbers.count where numbers[j].value < 0 {
                return LineError(.invalidValue, "a counter cannot go down (value \(numbers[j].value))")
            }
        }
        return nil
    }

    /// `numbers` as the registry updates of a line of `kind` for a family like `info`.
    @inline(__always)
    mutating func buildUpdates(kind: SampleKind, sampleRate: Double, info: FamilyFoldView.Hot) {
        updates.reset()
        for j in 0..<numbers.count {
            let (x, signed) = numbers[j]
            switch kind {
            case .counter:
                updates.append(.add(x / sampleRate))
            case .gauge:
                updates.append(signed && info.special == nil ? .add(x) : .set(x))
            case .timer, .histogram, .distribution:
                let value = kind == .timer ? x / 1000 : x
                let weight = 1 / sampleRate
                if info.type == .summary {
                    updates.append(.summarize(value: value, weight: weight))
                } else {
                    var b = 0
                    let buckets = info.buckets!
                    while b < info.bucketCount && value > buckets[b] { b += 1 }
                    updates.append(.observe(bucket: b, buckets: info.bucketCount, value: value, weight: weight))
                }
            case .set:
                updates.append(.member(x.bitPattern))
            }
        }
    }

    /// The registry update of a valid line whose series key is `k` (the key buffer's, or a
    /// `LineCache` entry's: read before anything else may change it): queued behind its
    /// slot's prefetch, or applied now; nil when folded (or queued). `entry`: the line's
    /// `LineCache` entry, whose `SeriesHint` spares the registry its key-table probe and key
    /// compare, and is refreshed by it.
    @inline(__always)
    mutating func apply(
        _ line: UnsafeRawBufferPointer, key k: UnsafeRawBufferPointer, service: Int, familyID: Int,
        width: Int, type: FamilyType, hash h: UInt64, trace: Range<Int>, span: Range<Int>, now: Double,
        stats: inout IngestStats, queueing: Bool, entry: LineCache.Entry? = nil
    ) -> LineError? {
        if queueing && registry.prefetchSlot(service: service, hash: h)
            && queue(
                line, key: k, service: service, family: familyID, hash: h, width: width, trace: trace, span: span)
        {
            return nil
        }
        let known = entry?.hint ?? SeriesHint()
        var hint = known
        let refusal = updates.withUnsafeBufferPointer { u in
            registry.apply(
                service: service, family: familyID, key: k, hash: h, width: width,
                generation: generation, stamp: stamp, u, hint: &hint)
        }
        // Before anything below can insert into the line cache (and move the entry); only when
        // it changed, so that a cache line read on every hit is not also written back.
        if let entry, hint != known { entry.hint = hint }
        switch refusal {
        case nil:
            // Kept after the fold, under a second lock acquisition: lines without a trace_id
            // (nearly all) pay nothing for it in the fold.
            if !trace.isEmpty {
                keepExemplar(
                    line, trace: trace, span: span, type: type, last: updates.last!, service: service, key: k,
                    hash: h, now: now, stats: &stats)
            }
            return nil
        case .stale?:
            // A reload swapped the catalogue while this line was on its way: resolve it again.
            dropCaches(generation: registry.families.generation)
            return fold(line, now: now, stats: &stats, queueing: false)
        case let refusal?:
            return cardinalityError(refusal, info: self.info(familyID), familyID: familyID, service: service)
        }
    }

    /// Why a line's service is unusable, as indices until the line is refused: a `LineError`
    /// holds a String, and one kept across the fold costs a release call on every line.
    enum ServiceProblem {
        /// The identity tag's value (a range of the line) names no configured service.
        case unknown(Range<Int>)
        case tagsDisagree(first: Int, then: Int)
        case prefixDisagrees(prefix: Int, tag: Int)
        case socketBelongs(to: Int, line: Int)
        /// No tag, no prefix, no bound socket and no default_service.
        case unnamed
    }

    func error(_ problem: ServiceProblem, _ line: UnsafeRawBufferPointer) -> LineError {
        let names = serviceNames.all
        switch problem {
        case .unknown(let range):
            let value = UnsafeRawBufferPointer(rebasing: line[range])
            return LineError(.unknownService, "service '\(LogEscaper.escape(value, limit: 64))' is not configured")
        case .tagsDisagree(let t, let s):
            return LineError(
                .serviceMismatch,
                "the identity tags disagree: '\(names[t])', then '\(names[s])' "
                    + "(service_name and service must name one service)")
        case .prefixDisagrees(let p, let t):
            return LineError(.serviceMismatch, "prefix names '\(names[p])' but the tag names '\(names[t])'")
        case .socketBelongs(let b, let s):
            return LineError(
                .serviceMismatch, "this socket belongs to '\(names[b])', the line names '\(names[s])'")
        case .unnamed:
            return LineError(.noService, "no service_name/service tag, no <service>. prefix and no default_service")
        }
    }
}
