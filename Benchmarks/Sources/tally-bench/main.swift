// tally-bench: quick, repeatable figures without the benchmark plugin (and a target for
// `valgrind --tool=callgrind`). Every figure is the median of --repeat runs.
//
//   tally-bench fold   --series N [--lines M]   parse+fold, ns/line and lines/s on one core
//                      (--line-cache 0: every line takes the whole fold, fold and mixed)
//   tally-bench mixed  [--lines M]              parse+fold of the mixed 45-family corpus
//   tally-bench render --series N [--gzip 1]    scrape render time and bytes per series (and with gzip)
//   tally-bench memory --series N               registry bytes per counter series
//   tally-bench baseline --series N             the same creation and render with swift-prometheus
import CHeap
import Glibc
import TallyBenchSupport
import TallyCore
import TallyServer

func now(_ clock: clockid_t = CLOCK_MONOTONIC) -> Double {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Resident set size from /proc/self/statm.
func residentBytes() -> Int {
    guard let f = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(f) }
    var size = 0, resident = 0
    _ = withUnsafeMutablePointer(to: &size) { s in withUnsafeMutablePointer(to: &resident) { r in withVaList([s, r]) { vfscanf(f, "%ld %ld", $0) } } }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Heap bytes in use (glibc mallinfo2: small blocks plus mmapped large ones).
func heapInUse() -> Int { Int(tally_heap_in_use()) }

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

let argv = Array(CommandLine.arguments.dropFirst())
let command = argv.first ?? "fold"
let args = Array(argv.dropFirst())
func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return fallback }
    return v
}
let series = option("--series", 10_000)
/// --line-cache 0: every line takes the whole fold (fold and mixed).
let cached = option("--line-cache", 1) != 0
let repeats = option("--repeat", 5)

/// Runs `body` `repeats` times; returns median wall and CPU seconds.
func measure(_ body: () -> Void) -> (wall: Double, cpu: Double) {
    var walls: [Double] = []
    var cpus: [Double] = []
    for _ in 0..<repeats {
        let w0 = now(), c0 = now(CLOCK_THREAD_CPUTIME_ID)
        body()
        walls.append(now() - w0)
        cpus.append(now(CLOCK_THREAD_CPUTIME_ID) - c0)
    }
    return (median(walls), median(cpus))
}

func report(_ what: String, lines: Int, _ m: (wall: Double, cpu: Double)) {
    let ns = m.cpu / Double(lines) * 1e9
    print("\(what): \(lines) lines, median of \(repeats): \(String(format: "%.1f", ns)) ns/line CPU, \(String(format: "%.2f", Double(lines) / m.cpu / 1e6))M lines/s per core, \(String(format: "%.3f", m.cpu / Double(lines) * 1e6)) CPU-s per million lines")
}

extension String {
    init(format: String, _ v: Double) {
        var buf = [CChar](repeating: 0, count: 64)
        _ = withVaList([v]) { vsnprintf(&buf, 64, format, $0) }
        self = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

switch command {
case "fold":
    let lines = option("--lines", max(1_000_000, series))
    let trace = option("--trace", 0) != 0
    let packets = Corpus.packets(Corpus.counters(series: series, lines: lines, trace: trace))
    let registry = Corpus.registry()
    let ingestor = Corpus.ingestor(registry)
    ingestor.lineCacheEnabled = cached
    Corpus.fold(packets, into: ingestor)  // series exist: steady state
    report(
        "parse+fold counters\(trace ? " with trace_id+span_id" : "")\(cached ? "" : ", no line cache"), \(series) series",
        lines: lines,
        measure { Corpus.fold(packets, into: ingestor) })
case "mixed":
    let lines = option("--lines", 1_000_000)
    let packets = Corpus.packets(Corpus.mixed(lines: lines))
    let ingestor = Corpus.ingestor(Corpus.registry())
    ingestor.lineCacheEnabled = cached
    Corpus.fold(packets, into: ingestor)
    report("parse+fold mixed corpus\(cached ? "" : ", no line cache")", lines: lines, measure { Corpus.fold(packets, into: ingestor) })
case "render":
    let registry = Corpus.registry()
    Corpus.fold(Corpus.packets(Corpus.counters(series: series, lines: series)), into: Corpus.ingestor(registry))
    let format: ExpositionFormat = option("--openmetrics", 0) != 0 ? .openMetrics : .text
    var size = 0
    let m = measure { size = ExpositionRenderer.render(registry, service: 5, now: 1000, format: format).count }
    print("render \(series) series (\(format.rawValue)): median \(String(format: "%.2f", m.wall * 1000)) ms wall, \(size) bytes (\(size / series) bytes/series)")
    if option("--gzip", 0) != 0 {
        // What a Prometheus scrape costs (it sends Accept-Encoding: gzip): render, then compress.
        var zipped = 0
        let z = measure {
            zipped = Gzip.compress(ExpositionRenderer.render(registry, service: 5, now: 1000, format: format))?.count ?? 0
        }
        print("render + gzip \(series) series (\(format.rawValue)): median \(String(format: "%.2f", z.wall * 1000)) ms wall, \(zipped) bytes gzipped (\(String(format: "%.1f", Double(zipped) / Double(series))) bytes/series)")
    }
case "remote-write":
    // One remote-write interval of `series` counter series: collect, encode, snappy (no network).
    let registry = Corpus.registry()
    Corpus.fold(Corpus.packets(Corpus.counters(series: series, lines: series)), into: Corpus.ingestor(registry))
    var r = RemoteWriteCost.Result()
    let m = measure { r = RemoteWriteCost.oneInterval(registry: registry, now: 1000) }
    let wall = String(format: "%.2f", m.wall * 1000)
    let cpu = String(format: "%.2f", m.cpu * 1000)
    let perCPU = String(format: "%.0f", Double(r.samples) / m.cpu)
    let perSample = String(format: "%.1f", Double(r.wireBytes) / Double(r.samples))
    let ratio = String(format: "%.1f", Double(r.rawBytes) / Double(r.wireBytes))
    print("remote write \(series) series: \(r.samples) samples in \(r.requests) requests, \(wall) ms wall, \(cpu) ms CPU = \(perCPU) samples per CPU-second; \(r.rawBytes) B protobuf, \(r.wireBytes) B snappy = \(perSample) B/sample on the wire (\(ratio)x)")
case "memory", "memory-histogram":
    // Heap in use (mallinfo2) around the fold: the registry's whole cost, slack included.
    let histogram = command == "memory-histogram"
    let lines = histogram
        ? (0..<series).map { "db_query_duration_seconds:\($0 % 500)|ms|#service:order_executor,query_type:q\($0)" }
        : Corpus.counters(series: series, lines: series)
    let packets = Corpus.packets(lines)
    let registry = Corpus.registry()
    let ingestor = Corpus.ingestor(registry)
    // The registry's arrays are its whole heap: their capacities are exact allocated bytes.
    // RSS grows by what was touched (capacity slack past the last series stays unmapped).
    let rss0 = residentBytes()
    withExtendedLifetime(lines) { withExtendedLifetime(packets) { Corpus.fold(packets, into: ingestor) } }
    let rss = residentBytes() - rss0
    let kind = histogram ? "12-bucket histogram" : "counter"
    print("registry: \(series) \(kind) series, allocated \(registry.allocatedBytes()) bytes = \(registry.allocatedBytes() / series) bytes/series, RSS +\(rss / series) bytes/series")
case "baseline-memory":
    let order = Array(0..<series)
    let heap0 = heapInUse()
    let rss0 = residentBytes()
    let baseline = PrometheusBaseline()
    baseline.fold(series: order)
    let heap = heapInUse() - heap0
    let rss = residentBytes() - rss0
    withExtendedLifetime(baseline) {}
    print("swift-prometheus: \(series) counter series, heap +\(heap) bytes = \(heap / series) bytes/series, RSS +\(rss / series) bytes/series")
case "baseline":
    var baseline = PrometheusBaseline()
    let order = Array(0..<series)
    let create = measure { baseline = PrometheusBaseline(); baseline.fold(series: order) }
    var size = 0
    let render = measure { size = baseline.render().count }
    let tallyPackets = Corpus.packets(Corpus.counters(series: series, lines: series))
    let tallyCreate = measure { Corpus.fold(tallyPackets, into: Corpus.ingestor(Corpus.registry())) }
    let registry = Corpus.registry()
    Corpus.fold(tallyPackets, into: Corpus.ingestor(registry))
    let tallyRender = measure { _ = ExpositionRenderer.render(registry, service: 5, now: 1000) }
    print("create \(series) series: tally \(String(format: "%.1f", tallyCreate.wall * 1000)) ms (parse included), swift-prometheus \(String(format: "%.1f", create.wall * 1000)) ms (pre-parsed) -> \(String(format: "%.1f", create.wall / tallyCreate.wall))x")
    print("render \(series) series: tally \(String(format: "%.2f", tallyRender.wall * 1000)) ms, swift-prometheus \(String(format: "%.2f", render.wall * 1000)) ms (\(size) bytes) -> \(String(format: "%.1f", render.wall / tallyRender.wall))x")
default:
    print("usage: tally-bench fold [--trace 1] [--line-cache 0]|mixed [--line-cache 0]|render [--openmetrics 1]|remote-write|memory|memory-histogram|baseline|baseline-memory [--series N] [--lines M] [--repeat R]")
    exit(2)
}
