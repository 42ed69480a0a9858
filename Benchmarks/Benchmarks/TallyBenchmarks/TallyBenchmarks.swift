import Benchmark
import TallyBenchSupport
import TallyCore

/// Each fold iteration ingests `batch` lines (20 per datagram); divide the time per iteration
/// by the batch for time per line.
let batch = 10_000

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal, .peakMemoryResident],
        maxDuration: .seconds(3), maxIterations: 1_000)

    let mixed = Corpus.packets(Corpus.mixed(lines: batch))
    Benchmark("parse+fold mixed corpus, 45 families (10k lines/iter)") { benchmark in
        let registry = Corpus.registry()
        let ingestor = Corpus.ingestor(registry)
        Corpus.fold(mixed, into: ingestor)  // create the series first: measure the steady state
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(Corpus.fold(mixed, into: ingestor)) }
    }

    for series in [10, 10_000, 100_000] {
        let packets = Corpus.packets(Corpus.counters(series: series, lines: max(batch, series)))
        let chunk = Array(packets.prefix(batch / 20))
        Benchmark("parse+fold counters, \(series) series (10k lines/iter)") { benchmark in
            let registry = Corpus.registry()
            let ingestor = Corpus.ingestor(registry)
            Corpus.fold(packets, into: ingestor)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(Corpus.fold(chunk, into: ingestor)) }
        }
    }

    for series in [10_000, 100_000] {
        Benchmark("render order_executor, \(series) counter series") { benchmark in
            let registry = Corpus.registry()
            Corpus.fold(Corpus.packets(Corpus.counters(series: series, lines: series)), into: Corpus.ingestor(registry))
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(ExpositionRenderer.render(registry, service: 5, now: 1000)) }
        }
    }

    for series in [10_000, 100_000] {
        Benchmark("create \(series) counter series: tally (parse+fold)", configuration: .init(maxIterations: 20)) { benchmark in
            let packets = Corpus.packets(Corpus.counters(series: series, lines: series))
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(Corpus.fold(packets, into: Corpus.ingestor(Corpus.registry()))) }
        }
        // swift-prometheus creates series in quadratic time (100k series take ~6 minutes here,
        // also as setup for its render): its 100k figures come from `tally-bench baseline`
        // (docs/performance.md) instead.
        if series <= 10_000 {
        Benchmark("create \(series) counter series: swift-prometheus baseline", configuration: .init(maxDuration: .seconds(20), maxIterations: 20)) { benchmark in
            let order = Array(0..<series)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let baseline = PrometheusBaseline()
                baseline.fold(series: order)
                blackHole(baseline)
            }
        }
        Benchmark("render \(series) counter series: swift-prometheus baseline", configuration: .init(maxIterations: 50)) { benchmark in
            let baseline = PrometheusBaseline()
            baseline.fold(series: Array(0..<series))
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(baseline.render()) }
        }
        }
    }
}
