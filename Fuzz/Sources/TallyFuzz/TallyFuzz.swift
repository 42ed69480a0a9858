import CFuzzMain
import TallyCore

/// One registry for the whole run, as in the daemon: inputs accumulate series, so later inputs
/// meet a registry shaped by earlier ones (limits, undocumented families, type clashes).
let catalogue = try! Catalogue(families: [
    FamilyDescriptor(name: "http_requests_total", type: .counter, help: "Requests.", labels: ["method", "path", "status"]),
    FamilyDescriptor(name: "http_request_duration_seconds", type: .histogram, help: "Duration.", labels: ["method", "path"],
                     buckets: [0.005, 0.01, 0.1, 1.0]),
    FamilyDescriptor(name: "http_request_size_bytes", type: .summary, help: "Size.", labels: ["method", "path"]),
    FamilyDescriptor(name: "service_up", type: .gauge, help: "Up.", labels: ["service_name"]),
    FamilyDescriptor(name: "service_start_time", type: .gauge, help: "Start.", labels: ["service_name"]),
    FamilyDescriptor(name: "position_pnl_usd", type: .gauge, help: "PnL.", labels: ["position_id", "symbol"]),
])
let registry = Registry(
    families: FamilyTable(catalogue: catalogue, policy: .accept, defaultBuckets: [0.1, 1, 10], maxFamilies: 200),
    services: ServiceTable(names: ["a", "b", "order_executor"], heartbeatTimeout: 30),
    limits: Limits(maxSeriesPerFamily: 500, maxSeriesPerService: 5000))
nonisolated(unsafe) let ingestor = Ingestor(registry: registry, transport: "fuzz", defaultService: 0, maxLineLength: 4096,
                                            limiter: RejectLogLimiter(interval: 1e9)) { _ in }
nonisolated(unsafe) var runs = 0

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let packet = UnsafeRawBufferPointer(start: data, count: size)
    let before = ingestor.cell.read()
    ingestor.ingest(packet: packet, now: 1000 + Double(runs))
    let after = ingestor.cell.read()
    // Every line is accounted for exactly once: accepted, refused or skipped.
    let lines = after.lines - before.lines
    let outcomes = (after.accepted - before.accepted) + (after.rejectedTotal - before.rejectedTotal)
        + (after.skipped.reduce(0, +) - before.skipped.reduce(0, +))
    precondition(lines == outcomes, "lines \(lines) != accepted + refused + skipped \(outcomes)")
    runs += 1
    if runs % 64 == 0 || size > 2048 {
        // The exposition stays well-formed whatever went in: every line is a comment or a
        // sample `name{labels} value`, with no raw newline or invalid UTF-8 inside.
        for service in 0..<3 {
          for format in ExpositionFormat.allCases {
            let text = ExpositionRenderer.render(registry, service: service, now: 1000, format: format)
            precondition(String(validating: text, as: UTF8.self) != nil, "exposition is not UTF-8")
            var start = 0
            for i in 0..<text.count where text[i] == 0x0A {
                let line = text[start..<i]
                precondition(!line.isEmpty, "empty exposition line")
                let first = line.first!
                precondition(first == UInt8(ascii: "#") || first == UInt8(ascii: "_") || (first | 0x20 >= 0x61 && first | 0x20 <= 0x7A),
                             "exposition line starts with byte \(first)")
                start = i + 1
            }
            precondition(start == text.count, "exposition does not end with a newline")
          }
        }
    }
    if runs % 512 == 0 {
        // Saved state round-trips: a registry restored from it renders the same series.
        let copy = Registry(
            families: FamilyTable(catalogue: catalogue, policy: .accept, defaultBuckets: [0.1, 1, 10], maxFamilies: 200),
            services: ServiceTable(names: ["a", "b", "order_executor"], heartbeatTimeout: 30),
            limits: Limits(maxSeriesPerFamily: 500, maxSeriesPerService: 5000))
        // (Set series are not saved: they are the only difference allowed.)
        let summary = try! StateSnapshot.restore(StateSnapshot.encode(registry), into: copy, now: 1000)
        precondition(summary.skippedFamily + summary.skippedService + summary.skippedOther == 0, "state skipped series: \(summary)")
        let expected = registry.seriesCounts().reduce(0, +) - registry.setSeriesCount()
        precondition(copy.seriesCounts().reduce(0, +) == expected, "restored \(copy.seriesCounts()) series, expected \(expected)")
        for service in 0..<3 {
            func lines(_ r: Registry) -> Set<Substring> {
                Set(String(decoding: ExpositionRenderer.render(r, service: service, now: 1000), as: UTF8.self)
                    .split(separator: "\n").filter { !$0.hasPrefix("service_") && !$0.hasPrefix("# HELP service_") && !$0.hasPrefix("# TYPE service_") })
            }
            precondition(lines(copy).isSubset(of: lines(registry)), "restored state renders lines the original does not have")
        }
    }
    return 0
}
