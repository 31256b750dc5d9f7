// swift-tools-version: 6.1
import PackageDescription

// The package-benchmark suites, in a package of their own (as swift-nio keeps its benchmarks), so no
// user of Rollcall's libraries resolves the benchmark package or its malloc interposer.
// Run them with scripts/bench.
let package = Package(
    name: "RollcallBenchmarks",
    dependencies: [
        .package(name: "Rollcall", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "RollcallBenchmarks",
            dependencies: [
                .product(name: "Partitioning", package: "Rollcall"),
                .product(name: "Coordination", package: "Rollcall"),
                .product(name: "RedisAdapter", package: "Rollcall"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "RollcallBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Balancing by load against balancing by count, simulated round by round (not timed: it reports
        // loads and moves). swift run -c release --package-path Benchmarks RebalanceSimulation
        .executableTarget(
            name: "RebalanceSimulation",
            dependencies: [.product(name: "Partitioning", package: "Rollcall")],
            path: "RebalanceSimulation"
        ),
    ]
)
