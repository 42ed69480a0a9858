// swift-tools-version:6.1
// Benchmarks live in their own package so that building the daemon never builds them.
// Run: `make bench` (or `cd Benchmarks && swift package benchmark`).
import PackageDescription

let package = Package(
    name: "TallyBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "tally", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Shared corpus builders and the swift-prometheus baseline.
        .target(
            name: "TallyBenchSupport",
            dependencies: [
                .product(name: "TallyCore", package: "tally"),
                .product(name: "TallyServer", package: "tally"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/TallyBenchSupport"
        ),
        .executableTarget(
            name: "TallyBenchmarks",
            dependencies: [
                "TallyBenchSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "TallyCore", package: "tally"),
            ],
            path: "Benchmarks/TallyBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // glibc's mallinfo2, for heap bytes per series.
        .target(name: "CHeap", path: "Sources/CHeap"),
        // A quick, plugin-free measurement for one-off numbers and callgrind.
        .executableTarget(
            name: "tally-bench",
            dependencies: [
                "TallyBenchSupport", "CHeap", .product(name: "TallyCore", package: "tally"),
                .product(name: "TallyServer", package: "tally"),
            ],
            path: "Sources/tally-bench"
        ),
    ]
)
