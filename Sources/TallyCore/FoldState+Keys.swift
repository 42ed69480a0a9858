/// Building the series key from a line's tags, and the lookups the fold makes on the way.
extension FoldState {
    @inline(__always)
    mutating func documentedKey(
        _ line: UnsafeRawBufferPointer, info: FamilyFoldView.Hot, familyID: Int, service: Int,
        stats: inout IngestStats
    ) -> LineError? {
        labelValues.reset()
        let labelCount = info.labelCount
        for _ in 0..<labelCount { labelValues.append(0..<0) }
        for t in 0..<tagList.count {
            let tag = tagList[t]
            guard tag.hasValue else {
                stats.valuelessTags += 1
                lineCacheable = false
                continue
            }
            if tag.role != TagRole.label.rawValue { continue }
            var matched = false
            let tagKeyLength = tag.key.count
            let keyStart = line.baseAddress! + tag.key.lowerBound
            let offsets = info.labelOffsets!
            let flat = info.labelFlat!
            for i in 0..<info.labelCount where offsets[i + 1] &- offsets[i] == tagKeyLength {
                if ByteHash.equal(flat + offsets[i], keyStart, count: tagKeyLength) {
                    if !labelValues[i].isEmpty {
                        stats.duplicateTags += 1
                        lineCacheable = false
                    }
                    labelValues[i] = tag.value
                    matched = true
                    break
                }
            }
            if !matched && !isDropped(infos[familyID]!, keyStart, tagKeyLength) {
                lineCacheable = false
                stats.countDroppedTag(
                    family: familyID, tag: UnsafeRawBufferPointer(rebasing: line[tag.key]), scratch: &scratch)
            }
        }
        let serviceName = serviceNames.nameBytes[service]
        for i in 0..<labelCount {
            if i == info.serviceLabel {
                serviceName.withUnsafeBytes { appendKey($0) }
            } else {
                guard !labelValues[i].isEmpty else {
                    let view = self.info(familyID)
                    let labels = view.labels ?? []
                    return LineError(
                        .missingLabel,
                        "'\(view.name)' needs label '\(String(decoding: labels[i], as: UTF8.self))' (tag "
                            + "\(String(decoding: labels[i], as: UTF8.self)):<value>)"
                    )
                }
                appendKey(UnsafeRawBufferPointer(rebasing: line[labelValues[i]]))
            }
            appendKey(byte: 0)
        }
        return nil
    }

    mutating func undocumentedKey(
        _ line: UnsafeRawBufferPointer, familyID: Int, stats: inout IngestStats
    ) -> LineError? {
        let info = self.info(familyID)
        pairs.removeAll(keepingCapacity: true)
        for t in 0..<tagList.count {
            let tag = tagList[t]
            guard tag.hasValue else {
                stats.valuelessTags += 1
                lineCacheable = false
                continue
            }
            if tag.role != TagRole.label.rawValue { continue }
            let name: String
            switch Self.labelName(UnsafeRawBufferPointer(rebasing: line[tag.key]), of: info.name) {
            case .success(let n): name = n
            case .failure(let e): return e
            }
            if tag.value.isEmpty { continue }  // an empty label value is the same as no label
            var label = name  // drop_labels names the sanitized label name
            if label.withUTF8({ isDropped(info, $0.baseAddress!, $0.count) }) { continue }
            if let i = pairs.firstIndex(where: { $0.name == name }) {
                stats.duplicateTags += 1
                lineCacheable = false
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

    /// The label an undocumented family's tag becomes, or why it cannot become one.
    static func labelName(_ raw: UnsafeRawBufferPointer, of family: @autoclosure () -> String) -> Result<
        String, LineError
    > {
        guard let name = MetricName.sanitizeLabel(raw) else {
            return .failure(
                LineError(
                    .invalidLabelName,
                    "tag '\(LogEscaper.escape(raw, limit: 64))' cannot be a label name of '\(family())'"))
        }
        guard !MetricName.isReservedLabel(name) else {
            return .failure(
                LineError(
                    .invalidLabelName,
                    "tag '\(name)' is reserved (le: histogram buckets, quantile: summaries) in every family; rename it")
            )
        }
        return .success(name)
    }

    /// What is wrong with the labels of a line whose family does not exist yet and will not be
    /// made for it (its service is wrong): the same tag checks as `undocumentedKey`, so the line
    /// is refused for the same reason whether or not another line made the family first.
    mutating func labelProblemOfAbsentFamily(_ line: UnsafeRawBufferPointer, name: Range<Int>) -> LineError? {
        for t in 0..<tagList.count {
            let tag = tagList[t]
            guard tag.hasValue, tag.role == TagRole.label.rawValue else { continue }
            if case .failure(let e) = Self.labelName(
                UnsafeRawBufferPointer(rebasing: line[tag.key]),
                of: MetricName.sanitize(UnsafeRawBufferPointer(rebasing: line[name])))
            {
                return e
            }
        }
        return nil
    }

    /// Whether the tag name at `p` is one `drop_labels` aggregates away.
    func isDropped(_ info: FamilyFoldView, _ p: UnsafeRawPointer, _ n: Int) -> Bool {
        for d in info.dropped where d.count == n {
            if d.withUnsafeBytes({ ByteHash.equal($0.baseAddress!, p, count: n) }) { return true }
        }
        return false
    }

    /// What a tag with a value is to the fold: a label, or one of the tags that never is one.
    enum TagRole: UInt8 {
        case label, service, serviceName, traceID, spanID
    }

    /// Told apart by length first: most tags are none of these and cost one compare.
    @inline(__always)
    static func role(_ line: UnsafeRawBufferPointer, _ key: Range<Int>) -> TagRole {
        let p = line.baseAddress! + key.lowerBound
        switch key.count {
        case 7:
            if memEqual(p, "service") { return .service }
            return memEqual(p, "span_id") ? .spanID : .label
        case 8: return memEqual(p, "trace_id") ? .traceID : .label
        case 12: return memEqual(p, "service_name") ? .serviceName : .label
        default: return .label
        }
    }

    /// The folded line's exemplar, for a counter or a histogram whose ids fit OpenMetrics'
    /// limit; anything else is counted and the line has none.
    @inline(never)
    func keepExemplar(
        _ line: UnsafeRawBufferPointer, trace: Range<Int>, span: Range<Int>, type: FamilyType, last: SampleUpdate,
        service: Int, key: UnsafeRawBufferPointer, hash: UInt64, now: Double, stats: inout IngestStats
    ) {
        guard type == .counter || type == .histogram else {
            stats.exemplarsNotApplicable += 1
            return
        }
        let input = ExemplarInput(
            trace: UnsafeRawBufferPointer(rebasing: line[trace]), span: UnsafeRawBufferPointer(rebasing: line[span]),
            time: registry.services.wallOffset.wall(now))
        guard input.fits else {
            stats.exemplarsTooLong += 1
            return
        }
        if registry.keepExemplar(input, service: service, key: key, hash: hash, update: last) {
            stats.exemplarsKept += 1
        }
    }

    @inline(__always)
    static func memEqual(_ p: UnsafeRawPointer, _ s: StaticString) -> Bool {
        ByteHash.equal(p, UnsafeRawPointer(s.utf8Start), count: s.utf8CodeUnitCount)
    }

    func firstIndex(of byte: UInt8, in line: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        let i = ByteScan.find(byte, line, from: range.lowerBound, to: range.upperBound)
        return i < range.upperBound ? i : nil
    }

    mutating func resolveFamily(_ name: UnsafeRawBufferPointer, kind: SampleKind, create: Bool)
        -> FamilyTable.Resolution
    {
        let h = ByteHash.hash(name, seed: hashSeed)
        if let i = familyCache.find(name, hash: h) { return .found(Int(familyCacheIDs[i])) }
        let r = registry.families.resolve(name, kind: kind, create: create)
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

    func cardinalityError(_ refusal: Registry.Refusal, info: FamilyFoldView, familyID: Int, service: Int) -> LineError {
        let serviceName = serviceNames.all[service]
        switch refusal {
        case .setOverflow(let limit):
            return LineError(
                .setOverflow,
                "'\(info.name)' of '\(serviceName)' already holds \(limit) distinct values in its set_window "
                    + "(set_max_values); the new ones were not counted"
            )
        case .stale:  // only reached if the catalogue changed again while the line was retried
            return LineError(.unknownFamily, "the catalogue changed while this line was folded; send it again")
        case .serviceLimit(let limit):
            return LineError(
                .cardinalityLimit,
                "service '\(serviceName)' holds \(limit) series (limits.max_series_per_service); no new series "
                    + "until some expire or the limit is raised"
            )
        case .familyLimit(let limit):
            var detail =
                "'\(info.name)' of '\(serviceName)' holds \(limit) series (its limit); existing series keep updating"
            if registry.shouldExplain(service: service, family: familyID),
                let busiest = registry.busiestLabel(service: service, family: familyID)
            {
                let label: String
                if let name = busiest.label {
                    label = "label '\(name)'"
                } else if let labels = info.labels, busiest.index < labels.count {
                    label = "label '\(String(decoding: labels[busiest.index], as: UTF8.self))'"
                } else {
                    label = "label #\(busiest.index + 1)"
                }
                detail +=
                    "; \(label) has the most distinct values (\(busiest.distinct)): a unique id in a label? see "
                    + "limits.families"
                // The first refusal of a family is the one that explains it: never held back.
                var error = LineError(.cardinalityLimit, detail)
                error.alwaysLog = true
                return error
            }
            return LineError(.cardinalityLimit, detail)
        }
    }

    /// The plain-value part of family `id`'s view (made on first use).
    @inline(__always)
    mutating func hot(_ id: Int) -> FamilyFoldView.Hot {
        // Through the buffer: Array's count getter for this element type is not inlined.
        let cached = hots.withUnsafeBufferPointer { h in id < h.count && h[id].valid ? h[id] : nil }
        if let cached { return cached }
        return info(id).hot
    }

    mutating func info(_ id: Int) -> FamilyFoldView {
        if id < infos.count, let info = infos[id] { return info }
        let info = FamilyFoldView(registry.families.descriptor(id))
        if id >= infos.count { infos.append(contentsOf: repeatElement(nil, count: id + 1 - infos.count)) }
        infos[id] = info
        if id >= hots.count { hots.append(contentsOf: repeatElement(FamilyFoldView.Hot(), count: id + 1 - hots.count)) }
        hots[id] = info.hot
        return info
    }
}
