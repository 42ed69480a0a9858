import TallyCore
import TallySystem

/// tallyd's own metrics for operators: what arrived, what was refused and why, how many
/// series each service holds, and the process's cost.
enum AdminExposition {
    static let version = TallyVersion.current

    static func render(
        registry: Registry, startTime: Double, udpPorts: [Int] = [], state: StateFileStats? = nil,
        listeners: ListenerDirectory? = nil
    )
        -> [UInt8]
    {
        var w = TextWriter(capacity: 8192)
        let perTransport = registry.ingestStats()
        var total = IngestStats()
        for (_, s) in perTransport { total.merge(s) }

        w.header(name: "tally_build_info", help: "tallyd build; the value is 1.", type: .gauge)
        w.append("tally_build_info{version=\"\(version)\"} 1\n")

        func perTransportCounter(_ name: String, _ help: String, _ value: (IngestStats) -> Int) {
            w.header(name: name, help: help, type: .counter)
            for (transport, s) in perTransport {
                w.append(name)
                w.append("{transport=\"")
                w.labelValue(transport)
                w.append("\"} ")
                w.integer(Int64(value(s)))
                w.append(byte: 0x0A)
            }
        }
        perTransportCounter("tally_packets_received_total", "Datagrams (or TCP reads) received.") { $0.packets }
        perTransportCounter("tally_lines_received_total", "Non-empty StatsD lines received.") { $0.lines }
        perTransportCounter("tally_lines_accepted_total", "Lines folded into a series.") { $0.accepted }

        w.header(
            name: "tally_lines_rejected_total", help: "Lines refused, by reason (see tallyd --help for each reason).",
            type: .counter)
        for reason in RejectReason.allCases {
            w.append("tally_lines_rejected_total{reason=\"\(reason.rawValue)\"} ")
            w.integer(Int64(total.rejected(reason)))
            w.append(byte: 0x0A)
        }

        w.header(
            name: "tally_lines_skipped_total",
            help: "Valid lines with nothing for Prometheus: DogStatsD events, service checks, client telemetry.",
            type: .counter)
        for kind in SkipKind.allCases {
            w.append("tally_lines_skipped_total{kind=\"\(kind.label)\"} ")
            w.integer(Int64(total.skipped(kind)))
            w.append(byte: 0x0A)
        }
        w.header(
            name: "tally_fields_ignored_total", help: "|fields of accepted lines that this version does not know.",
            type: .counter)
        w.append("tally_fields_ignored_total ")
        w.integer(Int64(total.unknownFields))
        w.append(byte: 0x0A)

        w.header(
            name: "tally_tags_valueless_total", help: "Tags without ':' (they cannot become labels), dropped.",
            type: .counter)
        w.append("tally_tags_valueless_total ")
        w.integer(Int64(total.valuelessTags))
        w.append(byte: 0x0A)

        w.header(
            name: "tally_tags_duplicate_total", help: "Tags given twice in one line (the last one wins).",
            type: .counter)
        w.append("tally_tags_duplicate_total ")
        w.integer(Int64(total.duplicateTags))
        w.append(byte: 0x0A)

        let families = registry.families.snapshot()
        w.header(
            name: "tally_tags_dropped_total",
            help: "Tags a documented family does not document, dropped (not turned into labels).", type: .counter)
        for d in total.droppedTags.sorted(by: { ($0.family, $0.tag) < ($1.family, $1.tag) }) {
            w.append("tally_tags_dropped_total{family=\"")
            w.labelValue(families[d.family].name)
            w.append("\",tag=\"")
            w.labelValue(d.tag)
            w.append("\"} ")
            w.integer(Int64(d.count))
            w.append(byte: 0x0A)
        }
        if total.droppedTagsOther > 0 {
            w.append("tally_tags_dropped_total{family=\"_other\",tag=\"_other\"} ")
            w.integer(Int64(total.droppedTagsOther))
            w.append(byte: 0x0A)
        }

        w.header(name: "tally_series", help: "Series held, per service.", type: .gauge)
        for (i, count) in registry.seriesCounts().enumerated() {
            w.append("tally_series{service=\"")
            w.labelValue(registry.services.names[i])
            w.append("\"} ")
            w.integer(Int64(count))
            w.append(byte: 0x0A)
        }
        w.header(
            name: "tally_families",
            help: "Families known, documented (catalogue) or undocumented (created on first use).", type: .gauge)
        w.append("tally_families{kind=\"documented\"} ")
        w.integer(Int64(registry.families.documentedCount))
        w.append("\ntally_families{kind=\"undocumented\"} ")
        w.integer(Int64(registry.families.undocumentedCount))
        w.append(byte: 0x0A)
        w.header(
            name: "tally_series_expired_total", help: "Series removed because they were not updated within their ttl.",
            type: .counter)
        w.append("tally_series_expired_total ")
        w.integer(Int64(registry.expiredSeries))
        w.append(byte: 0x0A)
        w.header(
            name: "tally_registry_bytes", help: "Heap bytes held by the series registry (keys, indexes, values).",
            type: .gauge)
        w.append("tally_registry_bytes ")
        w.integer(Int64(registry.allocatedBytes()))
        w.append(byte: 0x0A)

        if let p = ProcessStats.read() {
            w.header(
                name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.",
                type: .counter)
            w.append("process_cpu_seconds_total ")
            w.value(p.cpuSeconds)
            w.append(byte: 0x0A)
            w.header(name: "process_resident_memory_bytes", help: "Resident memory size in bytes.", type: .gauge)
            w.append("process_resident_memory_bytes ")
            w.value(p.residentBytes)
            w.append(byte: 0x0A)
        }
        if !udpPorts.isEmpty {
            w.header(
                name: "tally_udp_receive_drops_total",
                help:
                    "Datagrams the kernel dropped on tallyd's UDP ports (receive buffer full), from /proc/net/udp{,6}.",
                type: .counter)
            let drops = UDPDrops.read(ports: Set(udpPorts))
            for port in udpPorts {
                w.append("tally_udp_receive_drops_total{port=\"")
                w.integer(Int64(port))
                w.append("\"} ")
                w.integer(Int64(drops[port] ?? 0))
                w.append(byte: 0x0A)
            }
        }
        state?.render(&w)
        listeners?.render(&w)
        w.header(
            name: "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.",
            type: .gauge)
        w.append("process_start_time_seconds ")
        w.value(startTime)
        w.append(byte: 0x0A)
        return w.bytes
    }
}
