// Balancing by load against balancing by count, simulated: 1,024 workers, 32,768 partitions, weights
// Zipf-skewed (s = 0.8, 1.0, 1.2) and uniform. For each: the count layout's max/mean load (the
// reference, same run), then rounds of `LoadRebalance` from it until a round moves nothing (max/mean,
// partitions moved, per round, rounds), then an hour of noisy reports (each partition's load reported
// every second at ±20 %, smoothed with alpha 0.2, a round every 10 s) and the partitions that moved.
// Run: swift run -c release --package-path Benchmarks RebalanceSimulation [workers] [partitions]
import Foundation
import Partitioning

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let workers = arguments.first ?? 1024
let partitions = arguments.dropFirst().first ?? 32768
let settings = LoadRebalance.Settings(epsilon: 0.1, moveBudget: 256)
let members = 0..<workers

func weights(s: Double?) -> [Double] {
    guard let s else { return Array(repeating: 1, count: partitions) }
    var generator = SplitMix64(state: 7)
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

print("workers \(workers), partitions \(partitions), epsilon \(settings.epsilon), move budget \(settings.moveBudget) per round")
print(
    "| weights | count layout max/mean | load: max/mean (heavy partitions) | moved to converge | most in a round | rounds | moved in an hour of noise | ms per round |"
)
print("|---|---|---|---|---|---|---|---|")
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
    var smoothed = truth
    var generator = SplitMix64(state: 11)
    var noisy = 0
    for second in 1...3600 {
        for partition in smoothed.indices {
            smoothed[partition] += 0.2 * (truth[partition] * Double.random(in: 0.8...1.2, using: &generator) - smoothed[partition])
        }
        guard second.isMultiple(of: 10) else { continue }
        round = try LoadRebalance(
            current: round.owners, members: members, weights: smoothed, settings: settings, unfinished: !round.finished,
            overBefore: round.over)
        noisy += round.moves.count
    }
    let name = s.map { "Zipf s = \($0)" } ?? "uniform"
    let perRound = Double(spent.components.attoseconds / 1_000_000_000_000 + spent.components.seconds * 1_000_000) / 1000 / Double(rounds)
    print(
        "| \(name) | \(String(format: "%.2f", reference.maxOverMean)) | \(String(format: "%.3f", boundedMaxOverMean(converged))) (\(converged.heavy.count)) | \(moved) | \(most) | \(rounds) | \(noisy) | \(String(format: "%.1f", perRound)) |"
    )
}
