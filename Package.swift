// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Rollcall",
    // Linux only: the C adapters build against Debian's libhiredis-dev and libpq-dev (see README).
    products: [
        .library(name: "Partitioning", targets: ["Partitioning"]),
        .library(name: "Coordination", targets: ["Coordination"]),
        .library(name: "RollcallClient", targets: ["RollcallClient"]),
        .library(name: "RollcallKafka", targets: ["RollcallKafka"]),
        // For the benchmarks of its codec (`@_spi(Benchmarks)`); the control plane is its user.
        .library(name: "RedisAdapter", targets: ["RedisAdapter"]),
        .executable(name: "control-plane", targets: ["ControlPlane"]),
        .executable(name: "worker", targets: ["Worker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
    ],
    targets: [
        // Pure: stable hash, key -> partition, the bounded-load rendezvous layout, layout diffs. Standard library only.
        .target(name: "Partitioning"),
        // Shared vocabulary: wire types, numbers, epochs, lease deadlines, Snowflake ids. Standard library only.
        .target(name: "Coordination"),
        // The control-plane client any Swift service embeds (the worker is one); the only target with an HTTP client.
        .target(
            name: "RollcallClient",
            dependencies: [
                "Coordination",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // C libraries from Debian's -dev packages. No pkgConfig: hiredis.pc's flags make SwiftPM warn.
        .systemLibrary(name: "CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CLibPQ", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CRdKafka", providers: [.apt(["librdkafka-dev"])]),

        // Blocking C connections (libpq) behind Mutexes on a dedicated thread pool.
        .target(name: "BlockingPool", dependencies: [.product(name: "NIOPosix", package: "swift-nio")]),
        // Thin adapters: the only code that touches the C libraries. Redis I/O is NIO's, hiredis encodes and parses.
        .target(
            name: "RedisAdapter",
            dependencies: ["CHiredis", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]),
        .target(name: "PostgresAdapter", dependencies: ["CLibPQ", "BlockingPool"]),
        .target(name: "KafkaAdapter", dependencies: ["CRdKafka"]),
        // Kafka consumption bound to the lease: the group membership state machine and its I/O.
        .target(
            name: "RollcallKafka",
            dependencies: [
                "RollcallClient", "KafkaAdapter", "Coordination",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]),

        // What both executables' HTTP servers and command lines share: JSON errors, settings, logging.
        .target(
            name: "ServerSupport",
            dependencies: [
                "Coordination",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Embeds the lease scripts' `.lua` files into the control plane at build time (see EmbedLuaTool).
        .executableTarget(name: "EmbedLuaTool"),
        .plugin(name: "EmbedLua", capability: .buildTool(), dependencies: ["EmbedLuaTool"]),

        .executableTarget(
            name: "ControlPlane",
            dependencies: [
                "Coordination", "Partitioning", "RedisAdapter", "ServerSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            exclude: ["Leases/Scripts/lua"],
            plugins: ["EmbedLua"]
        ),
        .executableTarget(
            name: "Worker",
            dependencies: [
                "Coordination", "RollcallClient", "RollcallKafka", "KafkaAdapter", "Partitioning", "PostgresAdapter", "ServerSupport",
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Reads the servers' URLs that scripts/test exports; shared by the integration test targets.
        .target(name: "TestSupport", dependencies: ["Partitioning"], path: "Tests/TestSupport"),
        .testTarget(name: "PartitioningTests", dependencies: ["Partitioning", "TestSupport"]),
        .testTarget(name: "CoordinationTests", dependencies: ["Coordination", "TestSupport"]),
        .testTarget(name: "RollcallClientTests", dependencies: ["RollcallClient", "TestSupport"]),
        .testTarget(name: "RedisAdapterTests", dependencies: ["RedisAdapter", "TestSupport"]),
        .testTarget(name: "PostgresAdapterTests", dependencies: ["PostgresAdapter", "TestSupport"]),
        .testTarget(name: "KafkaAdapterTests", dependencies: ["KafkaAdapter", "TestSupport"]),
        .testTarget(name: "RollcallKafkaTests", dependencies: ["RollcallKafka", "RollcallClient", "Coordination", "KafkaAdapter", "TestSupport"]),
        .testTarget(
            name: "WorkerTests",
            dependencies: [
                "Worker", "RollcallClient", "RollcallKafka", "TestSupport", "PostgresAdapter", "RedisAdapter", "Partitioning", "KafkaAdapter",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "ControlPlaneTests",
            dependencies: [
                "ControlPlane", "TestSupport", .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"), "RollcallClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),

    ]
)
