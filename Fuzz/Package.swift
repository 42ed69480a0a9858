// swift-tools-version:6.1
// A libFuzzer target for the line parser and the whole ingest path, in its own package so the
// daemon's build never sees the fuzzer flags. Run: `make fuzz` (FUZZ_SECONDS=60 by default).
import PackageDescription

let package = Package(
    name: "TallyFuzz",
    dependencies: [.package(name: "tally", path: "..")],
    targets: [
        .target(name: "CFuzzMain", path: "Sources/CFuzzMain"),
        .executableTarget(
            name: "TallyFuzz",
            dependencies: ["CFuzzMain", .product(name: "TallyCore", package: "tally")],
            path: "Sources/TallyFuzz"
        ),
    ]
)
