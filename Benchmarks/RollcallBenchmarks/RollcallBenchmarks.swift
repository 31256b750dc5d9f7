import Benchmark
import Coordination
import NIOCore
import Partitioning
@_spi(Benchmarks) import RedisAdapter

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

    // Time, allocations, and bytes allocated (an upper bound of the extra memory a layout needs).
    let layoutMetrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal, .mallocBytesCount, .peakMemoryResidentDelta]
    Benchmark("layout: 1024 partitions over 64 members", configuration: .init(metrics: layoutMetrics)) { _ in
        blackHole(try! Layout(members: 0..<64, partitionCount: 1024))
    }

    Benchmark("layout: 1024 partitions over 1024 members", configuration: .init(metrics: layoutMetrics)) { _ in
        blackHole(try! Layout(members: 0..<1024, partitionCount: 1024))
    }

    // At the README's recommended 32 partitions per worker, 1,024 workers; and twice that. The
    // reference is the floor of any implementation of the specification: every score hashed once.
    for partitionCount in [32_768, 65_536] {
        let large = Benchmark.Configuration(metrics: layoutMetrics, maxDuration: .seconds(10), maxIterations: 30)
        Benchmark("layout: \(partitionCount) partitions over 1024 members", configuration: large) { _ in
            blackHole(try! Layout(members: 0..<1024, partitionCount: partitionCount))
        }
        Benchmark("layout reference: hash all \(partitionCount) x 1024 scores", configuration: large) { _ in
            var best: UInt64 = 0
            for partition in 0..<partitionCount {
                for member in 0..<1024 { best = max(best, Layout.score(partition: partition, member: member)) }
            }
            blackHole(best)
        }
    }

    // Every heartbeat's script call is encoded once: EVALSHA, the SHA1, 17 keys and 12 arguments (the
    // control plane's heartbeat). The reference writes the same encoded bytes into the buffer: the copy
    // any encoder ends with.
    let heartbeatCall: [[UInt8]] =
        (["EVALSHA", "189868e7d7b8cbc50c35bfce7fe1320e0ec713af", "17"] + (0..<17).map { "rollcall:key-\($0)" }
        + ["w-000000000123", "bench", "", "120000", "2000", "1024", "inbox-", "", "", "", "member", "120000"]).map { Array($0.utf8) }
    var encodedCall = ByteBuffer()
    try! HiredisCodec.encode(heartbeatCall, into: &encodedCall)
    Benchmark("redis: encode a heartbeat's EVALSHA (32 arguments)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var buffer = ByteBuffer()
        for _ in benchmark.scaledIterations {
            buffer.clear()
            try! HiredisCodec.encode(heartbeatCall, into: &buffer)
        }
        blackHole(buffer)
    }
    Benchmark("redis reference: copy the same command's encoded bytes", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var buffer = ByteBuffer()
        for _ in benchmark.scaledIterations {
            buffer.clear()
            buffer.writeImmutableBuffer(encodedCall)
        }
        blackHole(buffer)
    }

    // A million ids per sample, so samples run into the 4,096-per-millisecond ceiling and measure the sustained rate.
    Benchmark("snowflake: ids on one thread", configuration: .init(scalingFactor: .mega, maxIterations: 20)) { benchmark in
        let generator = SnowflakeGenerator(workerNumber: 1, clock: SystemMillisecondClock())
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try! generator.next()) }
    }

    // Balance and movement, one random membership per iteration: N + 1 members join as the (N+1)th, or one
    // of N leaves. 1024 partitions x 64 members; then 1,024 members over 32,768 and 65,536 partitions (32
    // and 64 per member). Ratios are reported x1000 (package-benchmark metrics are integers): 1100 means 1.1.
    let peakPerMean = BenchmarkMetric.custom("peak / mean x1000", polarity: .prefersSmaller)
    let joinMoved = BenchmarkMetric.custom("join: moved / ideal x1000", polarity: .prefersSmaller)
    let leaveMoved = BenchmarkMetric.custom("leave: moved / ideal x1000", polarity: .prefersSmaller)
    for (partitionCount, memberCount, iterations) in [(1024, 64, 300), (32_768, 1024, 20), (65_536, 1024, 20)] {
        Benchmark(
            "layout quality: \(partitionCount) partitions, \(memberCount) members",
            configuration: .init(
                metrics: [peakPerMean, joinMoved, leaveMoved], maxDuration: .seconds(memberCount > 64 ? 60 : 30),
                maxIterations: iterations)
        ) { benchmark in
            var rng = SystemRandomNumberGenerator()
            var members = Set<Int>()
            while members.count < memberCount + 1 { members.insert(Int.random(in: 0..<max(1024, 4 * memberCount), using: &rng)) }
            let all = Array(members)
            let before = try! Layout(members: all.dropLast(), partitionCount: partitionCount)
            let joined = try! Layout(members: all, partitionCount: partitionCount)
            let leaver = all.dropLast().randomElement(using: &rng)!
            let left = try! Layout(members: all.dropLast().filter { $0 != leaver }, partitionCount: partitionCount)
            benchmark.measurement(peakPerMean, before.loads.values.max()! * 1000 * memberCount / partitionCount)
            benchmark.measurement(
                joinMoved, LayoutDiff(from: before.owners, to: joined.owners).movedCount * 1000 * (memberCount + 1) / partitionCount)
            benchmark.measurement(
                leaveMoved, LayoutDiff(from: before.owners, to: left.owners).movedCount * 1000 * memberCount / partitionCount)
        }
    }
}
