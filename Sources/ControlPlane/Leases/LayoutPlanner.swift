import Coordination
import Partitioning

/// The what-if plan's arithmetic: the layout `members` would get, and what it moves from the published
/// one. Pure; the same `Layout` the keeper publishes, so a plan is what would happen.
enum LayoutPlanner {
    static func plan(published: PublishedLayout, members: [WorkerNumber], partitionCount: Int, epsilon: Double) throws -> LayoutPlan {
        let layout = try Layout(members: members.map(\.rawValue), partitionCount: partitionCount, epsilon: epsilon)
        let shares = shares(layout.loads) { _ in nil }
        let largest = shares.map(\.partitions).max() ?? 0
        let mean = shares.isEmpty ? 0 : Double(partitionCount) / Double(shares.count)
        return LayoutPlan(
            balance: "count", fromVersion: published.version, members: shares.map(\.number),
            moves: moves(from: published, to: layout.owners), shares: shares, maxOverMean: mean > 0 ? Double(largest) / mean : 0)
    }

    /// A pool balanced by load: load rounds from the published owners with the reported loads, until
    /// one moves nothing (at most `roundLimit`), as the keeper's rounds would go if the loads held still.
    static func loadPlan(
        published: PublishedLayout, members: [WorkerNumber], partitionCount: Int, loads: [Int: Double], settings: LoadRebalance.Settings,
        roundLimit: Int = 1000
    ) throws -> LayoutPlan {
        let weights = (0..<partitionCount).map { loads[$0] ?? 0 }
        let numbers = members.map(\.rawValue)
        var round = try LoadRebalance(
            current: published.owners.map { $0?.rawValue }, members: numbers, weights: weights, settings: settings)
        var rounds = 1
        while rounds < roundLimit, !round.moves.isEmpty || !round.finished {
            round = try LoadRebalance(
                current: round.owners, members: numbers, weights: weights, settings: settings, unfinished: !round.finished)
            rounds += 1
        }
        var counts = Dictionary(uniqueKeysWithValues: numbers.map { ($0, 0) })
        for case let owner? in round.owners { counts[owner, default: 0] += 1 }
        let shares = shares(counts) { round.loads[$0] ?? 0 }
        return LayoutPlan(
            balance: "load", fromVersion: published.version, members: shares.map(\.number),
            moves: moves(from: published, to: round.owners), shares: shares, maxOverMean: round.maxOverMean)
    }

    /// One share per member, ascending by number, from its partition count and (load pools) its load.
    private static func shares(_ counts: [Int: Int], load: (Int) -> Double?) -> [LayoutPlan.Share] {
        counts.keys.sorted().compactMap { number in
            WorkerNumber(rawValue: number).map { LayoutPlan.Share(number: $0, partitions: counts[number] ?? 0, load: load(number)) }
        }
    }

    /// Every partition whose owner differs between the published layout and `owners`.
    private static func moves(from published: PublishedLayout, to owners: [Int?]) -> [LayoutPlan.Move] {
        LayoutDiff(from: published.owners.map { $0?.rawValue }, to: owners).moves.map { move in
            LayoutPlan.Move(
                partition: Partition(move.partition), from: move.from.flatMap(WorkerNumber.init(rawValue:)),
                to: move.to.flatMap(WorkerNumber.init(rawValue:)))
        }
    }
}
