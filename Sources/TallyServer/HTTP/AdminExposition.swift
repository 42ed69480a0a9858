import TallyCore
import TallySystem

/// tallyd's own metrics for operators: what arrived, what was refused and why, how many
/// series each service holds, and the process's cost.
enum AdminExposition {
    static let version = TallyVersion.current

    static func render(
        registry: Registry, startTime: Double, udpPorts: [Int] = [], state: StateFileStats? = nil,
        listeners: ListenerDirectory? = nil, reloads: ReloadStats.Value? = nil, scrapes: ScrapeStats? = nil
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
        let services = registry.services.names
        // Services a reload removed keep their index but are not listed.
        let active = registry.services.activeIndices
        perTransportCounter("tally_packets_received_total", "Datagrams (or TCP reads) received.") { $0.packets }
        // By transport and the service each line named ("" before one was known), zeros included.
        w.header(
            name: "tally_lines_received_total",
            help: "Non-empty StatsD lines received, by transport and the service the line named (\"\": none).",
            type: .counter)
        for (transport, s) in perTransport {
            for service in [nil] + active.map(Optional.some) {
                w.append("tally_lines_received_total{transport=\"")
                w.labelValue(transport)
                w.append("\",service=\"")
                if let service { w.labelValue(services[service]) }
                w.append("\"} ")
                w.integer(Int64(s.lines(service: service)))
                w.append(byte: 0x0A)
            }
        }
        perTransportCounter("tally_lines_accepted_total", "Lines folded into a series.") { $0.accepted }

        // Every reason with service="" (zeros included), and each service that had some.
        w.header(
            name: "tally_lines_rejected_total",
            help: "Lines refused, by reason (see tallyd --help) and the service the line named (\"\": none).",
            type: .counter)
        for reason in RejectReason.allCases {
            for service in [nil] + active.map(Optional.some) {
                let n = total.rejected(reason, service: service)
                guard service == nil || n > 0 else { continue }
                w.append("tally_lines_rejected_total{reason=\"\(reason.rawValue)\",service=\"")
                if let service { w.labelValue(services[service]) }
                w.append("\"} ")
                w.integer(Int64(n))
                w.append(byte: 0x0A)
            }
        }
        let limited = registry.cardinalityLimited()
        w.header(
            name: "tally_cardinality_limited_total",
            help: "New series refused by a cardinality limit, by service and family.", type: .counter)
        if !limited.isEmpty {
            let names = registry.families.snapshot().map(\.name)
            for entry in limited where entry.service < services.count && entry.family < names.count {
                w.append("tally_cardinality_limited_total{service=\"")
                w.labelValue(services[entry.service])
                w.append("\",family=\"")
                w.labelValue(names[entry.family])
                w.append("\"} ")
                w.integer(Int64(entry.count))
                w.append(byte: 0x0A)
            }
        }
        scrapes?.render(&w, services: services, active: active)
        if let reloads {
            w.header(
                name: "tally_config_reloads_total", help: "Config reloads (SIGHUP or POST /-/reload), by result.",
                type: .counter)
            w.append("tally_config_reloads_total{result=\"success\"} ")
            w.integer(Int64(reloads.successes))
            w.append("\ntally_config_reloads_total{result=\"failure\"} ")
            w.integer(Int64(reloads.failures))
            w.append(byte: 0x0A)
            w.single(
                name: "tally_config_last_reload_success_timestamp_seconds",
                help: "When the config was last loaded successfully (start or reload).", type: .gauge,
                value: reloads.lastSuccess)
            w.single(
                name: "tally_config_last_reload_successful", help: "1 if the last reload applied, 0 if it was refused.",
                type: .gauge, integer: reloads.lastSuccessful ? 1 : 0)
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
        w.single(
            name: "tally_fields_ignored_total", help: "|fields of accepted lines that this version does not know.",
            type: .counter, integer: Int64(total.unknownFields))

        w.single(
            name: "tally_tags_valueless_total", help: "Tags without ':' (they cannot become labels), dropped.",
            type: .counter, integer: Int64(total.valuelessTags))

        w.header(
            name: "tally_exemplars_total",
            help: "trace_id tags: kept as the series' exemplar (OpenMetrics), or not: on a gauge or summary, or "
                + "over OpenMetrics' 128 characters.", type: .counter)
        w.append("tally_exemplars_total{result=\"kept\"} ")
        w.integer(Int64(total.exemplarsKept))
        w.append("\ntally_exemplars_total{result=\"not_counter_or_histogram\"} ")
        w.integer(Int64(total.exemplarsNotApplicable))
        w.append("\ntally_exemplars_total{result=\"too_long\"} ")
        w.integer(Int64(total.exemplarsTooLong))
        w.append(byte: 0x0A)

        w.single(
            name: "tally_tags_duplicate_total", help: "Tags given twice in one line (the last one wins).",
            type: .counter, integer: Int64(total.duplicateTags))

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

        let removed = registry.seriesRemoved
        w.header(
            name: "tally_series_removed_total",
            help: "Series a reload removed: of services it removed, of families whose layout changed.", type: .counter)
        w.append("tally_series_removed_total{reason=\"service_removed\"} ")
        w.integer(Int64(removed.serviceRemoved))
        w.append("\ntally_series_removed_total{reason=\"catalogue_changed\"} ")
        w.integer(Int64(removed.catalogueChanged))
        w.append(byte: 0x0A)
        w.header(name: "tally_series", help: "Series held, per service.", type: .gauge)
        for (i, count) in registry.seriesCounts().enumerated() where active.contains(i) {
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
        w.single(
            name: "tally_series_expired_total", help: "Series removed because they were not updated within their ttl.",
            type: .counter, integer: Int64(registry.expiredSeries))
        w.single(
            name: "tally_registry_bytes", help: "Heap bytes held by the series registry (keys, indexes, values).",
            type: .gauge, integer: Int64(registry.allocatedBytes()))

        if let p = ProcessStats.read() {
            w.single(
                name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.",
                type: .counter, value: p.cpuSeconds)
            w.single(
                name: "process_resident_memory_bytes", help: "Resident memory size in bytes.", type: .gauge,
                value: p.residentBytes)
            w.single(
                name: "process_virtual_memory_bytes", help: "Virtual memory size in bytes.", type: .gauge,
                value: p.virtualBytes)
        }
        if let fds = ProcessStats.openDescriptors() {
            w.single(
                name: "process_open_fds", help: "Number of open file descriptors.", type: .gauge, integer: Int64(fds))
        }
        if let max = ProcessStats.maxDescriptors() {
            w.single(
                name: "process_max_fds", help: "Maximum number of open file descriptors.", type: .gauge,
                integer: Int64(max))
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
        w.single(
            name: "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.",
            type: .gauge, value: startTime)
        return w.bytes
    }
}
