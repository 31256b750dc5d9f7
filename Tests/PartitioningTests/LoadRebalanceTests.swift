import Foundation
import Partitioning
import TestSupport
import Testing

/// Balancing by measured load, round by round, with no store: the rounds a leader would run.
struct LoadRebalanceTests {
    /// Zipf weights `1 / (rank + 1)^s` over `count` partitions, ranks shuffled by a fixed permutation
    /// (so the heavy partitions do not sit together in the count layout).
    static func zipf(_ count: Int, s: Double) -> [Double] {
        var generator = SplitMix64(seed: 7)
        var ranks = Array(0..<count)
        ranks.shuffle(using: &generator)
        return ranks.map { 1 / pow(Double($0 + 1), s) }
    }

    static func countLayout(members: Range<Int>, partitions: Int) throws -> [Int?] {
        try Layout(members: members, partitionCount: partitions).owners
    }

    /// Runs rounds until one moves nothing (at most `limit`); returns the last round and the moves made.
    static func converge(
        from owners: [Int?], members: Range<Int>, weights: [Double], settings: LoadRebalance.Settings, limit: Int = 100
    ) throws -> (LoadRebalance, rounds: Int, moved: Int) {
        var owners = owners
        var moved = 0
        var finished = true
        for round in 1...limit {
            let next = try LoadRebalance(current: owners, members: members, weights: weights, settings: settings, unfinished: !finished)
            #expect(next.moves.count <= settings.moveBudget)
            moved += next.moves.count
            owners = next.owners
            finished = next.finished
            if next.moves.isEmpty { return (next, round, moved) }
        }
        Issue.record("no convergence in \(limit) rounds")
        return (try LoadRebalance(current: owners, members: members, weights: weights, settings: settings), limit, moved)
    }

    @Test("equal weights: the rounds only take up the count layout's rounding slack, then move nothing")
    func uniformSettles() throws {
        let owners = try Self.countLayout(members: 0..<16, partitions: 1024)
        let weights = Array(repeating: 1.0, count: 1024)
        let (last, _, moved) = try Self.converge(from: owners, members: 0..<16, weights: weights, settings: .init())
        #expect(last.maxOverMean <= 1.1)
        #expect(moved <= 1024 / 16, "\(moved) moves: more than one member's share, for a layout within rounding of the bound")
        #expect(last.forced.isEmpty)
    }

    /// Every member carries at most `(1 + epsilon) × mean`, except the owner of a partition too heavy
    /// to bound, which carries that partition alone.
    static func bounded(_ round: LoadRebalance, epsilon: Double) -> Bool {
        round.loads.allSatisfy { member, load in
            load <= (1 + epsilon) * round.mean + 1e-9
                || round.owners.indices.filter { round.owners[$0] == member }.allSatisfy { round.heavy.contains($0) }
        }
    }

    @Test(
        "Zipf-skewed weights converge to every member within 1 + epsilon of the mean (a partition heavier than that alone), each round within the move budget",
        arguments: [0.8, 1.0, 1.2])
    func skewConverges(s: Double) throws {
        let weights = Self.zipf(4096, s: s)
        let start = try LoadRebalance(
            current: try Self.countLayout(members: 0..<32, partitions: 4096), members: 0..<32, weights: weights,
            settings: .init(moveBudget: 0))
        let (last, rounds, moved) = try Self.converge(
            from: start.owners, members: 0..<32, weights: weights, settings: .init(epsilon: 0.1, moveBudget: 32))
        #expect(
            Self.bounded(last, epsilon: 0.1),
            "max/mean \(last.maxOverMean) (count layout: \(start.maxOverMean)), heavy \(last.heavy), \(rounds) rounds, \(moved) moves")
        #expect(start.maxOverMean > 1.1, "the skew must unbalance the count layout for the test to mean anything")
    }

    /// An hour of rounds from `converged`: every partition reports every 10 s at ±20 % of `truth`, folded
    /// into a fresh `LoadSmoother`, a round after each fold. The partitions moved.
    static func noisyHour(
        truth: [Double], members: Range<Int>, from converged: LoadRebalance, settings: LoadRebalance.Settings, deviations: Bool
    ) throws -> Int {
        var round = converged
        var smoother = LoadSmoother(partitionCount: truth.count)
        var generator = SplitMix64(seed: 11)
        var moved = 0
        for _ in 1...360 {
            smoother.fold(
                Dictionary(uniqueKeysWithValues: truth.indices.map { ($0, truth[$0] * Double.random(in: 0.8...1.2, using: &generator)) }))
            round = try LoadRebalance(
                current: round.owners, members: members, weights: smoother.weights, settings: settings, unfinished: !round.finished,
                overBefore: round.over, deviations: deviations ? smoother.deviations : nil)
            moved += round.moves.count
        }
        return moved
    }

    @Test(
        "once converged, an hour of noisy reports (±20 % each, smoothed) moves nothing when the trigger is widened by each member's noise, and moves partitions back and forth without it",
        arguments: [0.8, 1.2])
    func noiseMovesNothing(s: Double) throws {
        // 32 partitions per member, as 32,768 over 1,024 workers: a member's load is a few heavy partitions,
        // and its noise is several percent of the mean.
        let truth = Self.zipf(2048, s: s)
        let settings = LoadRebalance.Settings(epsilon: 0.1, moveBudget: 64)
        // From the count layout, as a pool turned to load balancing: members that were between the target
        // and the trigger keep their load, just under the trigger.
        let (converged, _, _) = try Self.converge(
            from: try Self.countLayout(members: 0..<64, partitions: 2048), members: 0..<64, weights: truth, settings: settings)
        let widened = try Self.noisyHour(truth: truth, members: 0..<64, from: converged, settings: settings, deviations: true)
        #expect(widened == 0, "partitions moved by noise alone")
        let bare = try Self.noisyHour(truth: truth, members: 0..<64, from: converged, settings: settings, deviations: false)
        #expect(bare > 0, "the bare trigger must move partitions on this noise for the test to mean anything")
    }

    @Test("a member over its trigger by less than its noise margin does not count as over; by more, it does")
    func marginScalesWithNoise() throws {
        let weights = Array(repeating: 1.0, count: 64)
        let settings = LoadRebalance.Settings(epsilon: 0.1, moveBudget: 64)
        let (converged, _, _) = try Self.converge(from: [], members: 0..<4, weights: weights, settings: settings)
        var heavier = weights
        for partition in weights.indices where converged.owners[partition] == 2 { heavier[partition] = 1.25 }
        // Member 2 carries 20 (16 × 1.25) against a mean of 17 and a trigger of 18.7: over by 1.3.
        // With each of its partitions deviating by 0.05, its load deviates by 0.2 (√16 × 0.05): three are 0.6.
        let quiet = try LoadRebalance(
            current: converged.owners, members: 0..<4, weights: heavier, settings: settings,
            deviations: Array(repeating: 0.05, count: 64))
        #expect(quiet.over == [2] && !quiet.moves.isEmpty)
        // With 0.15 each, its load deviates by 0.6, and three of those (1.8) cover the 1.3.
        let noisy = try LoadRebalance(
            current: converged.owners, members: 0..<4, weights: heavier, settings: settings,
            deviations: Array(repeating: 0.15, count: 64))
        #expect(noisy.over.isEmpty && noisy.moves.isEmpty)
        #expect(throws: LayoutError.invalidDeviation(partition: 3, -1)) {
            try LoadRebalance(
                current: converged.owners, members: 0..<4, weights: heavier, settings: settings,
                deviations: [0, 0, 0, -1])
        }
    }

    @Test("a member over the trigger starts a round only on its second round over it when overBefore is given")
    func persistenceWaitsOneRound() throws {
        var weights = Array(repeating: 1.0, count: 64)
        let settings = LoadRebalance.Settings(epsilon: 0.1, moveBudget: 64)
        let (converged, _, _) = try Self.converge(from: [], members: 0..<4, weights: weights, settings: settings)
        #expect(converged.over.isEmpty)
        for partition in weights.indices where converged.owners[partition] == 2 { weights[partition] = 1.5 }
        let first = try LoadRebalance(current: converged.owners, members: 0..<4, weights: weights, settings: settings, overBefore: [])
        #expect(first.moves.isEmpty && first.over == [2], "first sighting: \(first.moves.count) moves, over \(first.over)")
        let second = try LoadRebalance(current: first.owners, members: 0..<4, weights: weights, settings: settings, overBefore: first.over)
        #expect(!second.moves.isEmpty && second.moves.allSatisfy { $0.from == 2 })
        #expect(second.loads[2]! <= 1.05 * second.mean + 1.5, "shed down to the target, within one partition")
        let withoutPersistence = try LoadRebalance(current: converged.owners, members: 0..<4, weights: weights, settings: settings)
        #expect(withoutPersistence.moves == second.moves, "the round it starts is the round one sighting would have started")
    }

    @Test("a partition heavier than the bound by itself is reported, and its owner keeps it")
    func heavyIsReported() throws {
        var weights = Array(repeating: 1.0, count: 64)
        weights[5] = 40
        let (last, _, _) = try Self.converge(from: [], members: 0..<4, weights: weights, settings: .init())
        #expect(last.heavy == [5])
        let owner = try #require(last.owners[5])
        #expect(
            last.owners.enumerated().filter { $0.element == owner }.map(\.offset) == [5], "the heavy partition's owner carries it alone")
    }

    @Test("a member that left has its partitions handed to the lightest members, outside the budget")
    func leaverIsForced() throws {
        let owners = try Self.countLayout(members: 0..<8, partitions: 512)
        let round = try LoadRebalance(
            current: owners, members: 0..<7, weights: Array(repeating: 1, count: 512), settings: .init(moveBudget: 0))
        #expect(Set(round.forced.map(\.partition)) == Set(owners.indices.filter { owners[$0] == 7 }))
        #expect(round.forced.allSatisfy { $0.from == 7 && $0.to != nil && $0.to! < 7 })
        #expect(round.moves.isEmpty)
        #expect(round.maxOverMean <= 1.1)
        #expect(!round.owners.contains(7))
    }

    @Test("with every weight zero the round balances counts")
    func idleBalancesCounts() throws {
        let (round, _, _) = try Self.converge(from: [], members: 0..<10, weights: Array(repeating: 0, count: 1000), settings: .init())
        let counts = Dictionary(grouping: round.owners.compactMap { $0 }, by: { $0 }).mapValues(\.count)
        #expect(counts.count == 10 && counts.values.allSatisfy { $0 == 100 })
    }

    @Test("the same inputs give the same round, whatever the members' order or duplicates")
    func deterministic() throws {
        let weights = Self.zipf(1024, s: 1.2)
        let owners = try Self.countLayout(members: 0..<12, partitions: 1024)
        let a = try LoadRebalance(current: owners, members: Array(0..<12), weights: weights, settings: .init())
        let b = try LoadRebalance(current: owners, members: Array(0..<12).reversed() + [3, 3], weights: weights, settings: .init())
        #expect(a == b)
    }

    @Test("no members leave every partition unowned; a bad weight or epsilon is refused with the partition named")
    func edges() throws {
        let none = try LoadRebalance(current: [0, 1], members: [], weights: [1, 1, 1], settings: .init())
        #expect(none.owners == [nil, nil, nil] && none.forced.count == 2)
        #expect(throws: LayoutError.invalidWeight(partition: 1, -1)) {
            try LoadRebalance(current: [], members: [0], weights: [1, -1], settings: .init())
        }
        #expect(throws: LayoutError.invalidEpsilon(-0.5)) {
            try LoadRebalance(current: [], members: [0], weights: [1], settings: .init(epsilon: -0.5))
        }
        let nan = try? LoadRebalance(current: [], members: [0], weights: [.nan], settings: .init())
        #expect(nan == nil)
    }
}
