import Benchmark
import Coordination
import HashRing

/// Figures for the README and the issues' closing notes. Each timing has its in-run reference:
/// lookups against a plain 100-virtual-node ring, Snowflake ids against 4,096,000 ids/s (the layout's ceiling).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )
    let keys = (0..<4096).map { "order-\($0 &* 2_654_435_761)" }
    let ring = try! Layout(members: 0..<64, partitionCount: 1024)
    let partitioner = try! Partitioner(partitionCount: 1024)
    let reference = VirtualNodeRing(members: Array(0..<64), virtualNodes: 100)

    Benchmark("lookup: key -> partition -> owner (1024 partitions, 64 members)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for index in benchmark.scaledIterations {
            blackHole(ring.owners[partitioner.partition(forKey: keys[index & 4095])])
        }
    }

    Benchmark("lookup: reference 100-vnode ring (64 members)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for index in benchmark.scaledIterations {
            blackHole(reference.owner(forKey: keys[index & 4095]))
        }
    }

    Benchmark("layout: 1024 partitions over 64 members") { _ in
        blackHole(try! Layout(members: 0..<64, partitionCount: 1024))
    }

    Benchmark("layout: 1024 partitions over 1024 members") { _ in
        blackHole(try! Layout(members: 0..<1024, partitionCount: 1024))
    }

    // A million ids per sample, so samples run into the 4,096-per-millisecond ceiling and measure the sustained rate.
    Benchmark("snowflake: ids on one thread", configuration: .init(scalingFactor: .mega, maxIterations: 20)) { benchmark in
        let generator = SnowflakeGenerator(workerNumber: 1, clock: SystemMillisecondClock())
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try! generator.next()) }
    }

    // Balance and movement at 1024 partitions x 64 members, one random membership per iteration.
    // Ratios are reported x1000 (package-benchmark metrics are integers): 1100 means 1.1.
    let peakPerMean = BenchmarkMetric.custom("peak / mean x1000", polarity: .prefersSmaller)
    let joinMoved = BenchmarkMetric.custom("join: moved / ideal x1000", polarity: .prefersSmaller)
    let leaveMoved = BenchmarkMetric.custom("leave: moved / ideal x1000", polarity: .prefersSmaller)
    Benchmark(
        "layout quality: 1024 partitions, 64 members",
        configuration: .init(metrics: [peakPerMean, joinMoved, leaveMoved], maxDuration: .seconds(30), maxIterations: 300)
    ) { benchmark in
        var rng = SystemRandomNumberGenerator()
        var members = Set<Int>()
        while members.count < 65 { members.insert(Int.random(in: 0..<1024, using: &rng)) }
        let all = Array(members)
        let sixtyFour = try! Layout(members: all.dropLast(), partitionCount: 1024)
        let sixtyFive = try! Layout(members: all, partitionCount: 1024)
        let leaver = all.dropLast().randomElement(using: &rng)!
        let sixtyThree = try! Layout(members: all.dropLast().filter { $0 != leaver }, partitionCount: 1024)
        let peak = sixtyFour.loads.values.max()!
        benchmark.measurement(peakPerMean, peak * 1000 * 64 / 1024)
        benchmark.measurement(joinMoved, LayoutDiff(from: sixtyFour.owners, to: sixtyFive.owners).movedCount * 1000 * 65 / 1024)
        benchmark.measurement(leaveMoved, LayoutDiff(from: sixtyFour.owners, to: sixtyThree.owners).movedCount * 1000 * 64 / 1024)
    }
}
