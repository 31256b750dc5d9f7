// Balancing by load against balancing by count, simulated: 1,024 workers, 32,768 partitions, weights
// Zipf-skewed (s = 0.8, 1.0, 1.2) and uniform. For each: the count layout's max/mean load (the
// reference, same run), then rounds of `LoadRebalance` from it until a round moves nothing (max/mean,
// partitions moved, per round, rounds), then an hour of noisy reports (each partition's load reported
// every 10 s at ±20 %, folded into a LoadSmoother, a round after each) and the partitions that moved, with
// the noise margin and (in brackets) with the bare trigger.
// Run: swift run -c release --package-path Benchmarks RebalanceSimulation [workers] [partitions]
import Foundation
import Partitioning

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let workers = arguments.first ?? 1024
let partitions = arguments.dropFirst().first ?? 32768
let settings = LoadRebalance.Settings(epsilon: 0.1, moveBudget: 256)
let members = 0..<workers

func weights(s: Double?) -> [Double] {
    guard let s else { return Array(repeating: 1, count: partitions) }
    var generator = SplitMix64(seed: 7)
    var ranks = Array(0..<partitions)
    ranks.shuffle(using: &generator)
    return ranks.map { 1 / pow(Double($0 + 1), s) }
}

/// max/mean over the members that do not carry a partition too heavy to bound (those carry it alone).
func boundedMaxOverMean(_ round: LoadRebalance) -> Double {
    let heavyOwners = Set(round.heavy.compactMap { round.owners[$0] })
    let most = round.loads.filter { !heavyOwners.contains($0.key) }.values.max() ?? 0
    return most / round.mean
}

/// Partitions moved over an hour from `converged`: every partition reports its load every 10 s at ±20 % of
/// the truth, folded into a fresh `LoadSmoother` as the leader does, a round after each fold (360 rounds),
/// with the smoother's deviations (the noise margin) or without them (the bare trigger).
func noise(truth: [Double], from converged: LoadRebalance, deviations: Bool) throws -> Int {
    try noisyHour(truth: truth, from: converged, deviations: deviations).moved
}

/// The hour of noisy rounds from `start`: the partitions moved and the last round.
func noisyHour(truth: [Double], from start: LoadRebalance, deviations: Bool) throws -> (moved: Int, last: LoadRebalance) {
    var round = start
    var smoother = LoadSmoother(partitionCount: truth.count)
    var generator = SplitMix64(seed: 11)
    var moved = 0
    for _ in 1...360 {
        var reports: [Int: Double] = [:]
        reports.reserveCapacity(truth.count)
        for partition in truth.indices { reports[partition] = truth[partition] * Double.random(in: 0.8...1.2, using: &generator) }
        smoother.fold(reports)
        round = try LoadRebalance(
            current: round.owners, members: members, weights: smoother.weights, settings: settings, unfinished: !round.finished,
            overBefore: round.over, deviations: deviations ? smoother.deviations : nil)
        moved += round.moves.count
    }
    return (moved, round)
}

/// From the count layout, an hour of noisy rounds with the noise margin: the bounded max/mean of the true
/// loads it ends at (what the margin costs in balance, when no round ever sees the truth).
func convergedUnderNoise(truth: [Double], from reference: LoadRebalance) throws -> Double {
    let last = try noisyHour(truth: truth, from: reference, deviations: true).last
    return boundedMaxOverMean(
        try LoadRebalance(current: last.owners, members: members, weights: truth, settings: .init(epsilon: 0.1, moveBudget: 0)))
}

print("workers \(workers), partitions \(partitions), epsilon \(settings.epsilon), move budget \(settings.moveBudget) per round")
print(
    "| weights | count layout max/mean | load: max/mean (heavy partitions) | moved to converge | most in a round | rounds | moved in an hour of noise (bare trigger) | max/mean converged from noisy reports | ms per round |"
)
print("|---|---|---|---|---|---|---|---|---|")
let countOwners = try Layout(members: members, partitionCount: partitions).owners
for s in [0.8, 1.0, 1.2, nil] as [Double?] {
    let truth = weights(s: s)
    let reference = try LoadRebalance(current: countOwners, members: members, weights: truth, settings: .init(epsilon: 0.1, moveBudget: 0))
    var round = reference
    var moved = 0
    var most = 0
    var rounds = 0
    let clock = ContinuousClock()
    var spent = Duration.zero
    repeat {
        let started = clock.now
        round = try LoadRebalance(
            current: round.owners, members: members, weights: truth, settings: settings, unfinished: !round.finished,
            overBefore: round.over)
        spent += clock.now - started
        rounds += 1
        moved += round.moves.count
        most = max(most, round.moves.count)
    } while !round.moves.isEmpty && rounds < 10_000
    let converged = round
    let noisy = try noise(truth: truth, from: converged, deviations: true)
    let bare = try noise(truth: truth, from: converged, deviations: false)
    let fromNoise = try convergedUnderNoise(truth: truth, from: reference)
    let name = s.map { "Zipf s = \($0)" } ?? "uniform"
    let perRound = Double(spent.components.attoseconds / 1_000_000_000_000 + spent.components.seconds * 1_000_000) / 1000 / Double(rounds)
    print(
        "| \(name) | \(String(format: "%.2f", reference.maxOverMean)) | \(String(format: "%.3f", boundedMaxOverMean(converged))) (\(converged.heavy.count)) | \(moved) | \(most) | \(rounds) | \(noisy) (\(bare)) | \(String(format: "%.3f", fromNoise)) | \(String(format: "%.1f", perRound)) |"
    )
}
