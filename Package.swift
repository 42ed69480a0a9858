// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "tally",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tallyd", targets: ["tallyd"]),
        .executable(name: "tally", targets: ["tally"]),
        .library(name: "TallyCore", targets: ["TallyCore"]),
        .library(name: "TallyServer", targets: ["TallyServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // No default traits: BinaryDelimitedStreams imports full Foundation (and with it ICU's data,
        // 34 MB of the binary) for stream APIs tallyd does not use.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0", traits: []),
    ],
    targets: [
        // Protocol parsing, catalogue, registry, exposition, and the pure parsers both
        // executables share (host:port, durations). No I/O.
        .target(name: "CTallyCPU"),
        .target(name: "TallyCore", dependencies: ["CTallyCPU"]),
        // The few system calls both executables share: the wall and monotonic clocks, stderr; the
        // version (CTallyVersion: written from VERSION by scripts/embed-version.sh).
        .target(name: "CTallyVersion"),
        .target(name: "TallySystem", dependencies: ["CTallyVersion"]),
        // libsystemd (sd_notify, watchdog, socket activation) from Debian's libsystemd-dev.
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // zlib's deflate for gzip-compressed scrapes, from Debian's zlib1g-dev.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // bcrypt verification (crypt_r) for basic auth, from Debian's libcrypt-dev.
        // Snappy block compression for remote write, from Debian's libsnappy-dev.
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(name: "CCrypt", pkgConfig: "libcrypt", providers: [.apt(["libcrypt-dev"])]),
        // libyaml's parser for the config and catalogue files, from Debian's libyaml-dev (a binding
        // of our own instead of a Swift YAML library: no full Foundation, no ICU data in the binary).
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // Config loading, listeners, HTTP endpoints, lifecycle, logging.
        .target(
            name: "TallyServer",
            dependencies: [
                "TallyCore",
                "TallySystem",
                "CSystemd",
                "CZlib",
                "CCrypt",
                "CSnappy",
                "CYAML",
                "CTallyNet",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            // The source of RemoteWrite/Generated/remote.pb.swift (scripts/generate-protobuf.sh).
            exclude: ["RemoteWrite/Generated/remote.proto"]
        ),
        .executableTarget(
            name: "tallyd",
            dependencies: [
                "TallyServer",
                "TallySystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // sendmmsg/recvmmsg, which Glibc's overlay does not expose.
        .target(name: "CTallyNet"),
        // The sender's tool: send lines, generate load (TALLY_ADDR picks the transport).
        .executableTarget(
            name: "tally",
            dependencies: [
                "CTallyNet",
                "TallyCore",
                "TallyServer",
                "TallySystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TallyCoreTests", dependencies: ["TallyCore"]),
        .testTarget(
            name: "TallyServerTests",
            dependencies: [
                "TallyServer", "TallyCore", "TallySystem",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "TallyCLITests", dependencies: ["tally", "TallyCore", "TallyServer"]),
    ]
)
