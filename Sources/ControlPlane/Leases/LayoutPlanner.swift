import Coordination
import Partitioning

/// The what-if plan's arithmetic: the layout `members` would get, and what it moves from the published
/// one. Pure; the same `Layout` the keeper publishes, so a plan is what would happen.
enum LayoutPlanner {
    static func plan(published: PublishedLayout, members: [WorkerNumber], partitionCount: Int, epsilon: Double) throws -> LayoutPlan {
        let layout = try Layout(members: members.map(\.rawValue), partitionCount: partitionCount, epsilon: epsilon)
        let diff = LayoutDiff(from: published.owners.map { $0?.rawValue }, to: layout.owners)
        var counts = Dictionary(uniqueKeysWithValues: members.map { ($0.rawValue, 0) })
        for case let owner? in layout.owners { counts[owner, default: 0] += 1 }
        let shares = counts.keys.sorted().compactMap { number in
            WorkerNumber(rawValue: number).map { LayoutPlan.Share(number: $0, partitions: counts[number] ?? 0) }
        }
        let largest = shares.map(\.partitions).max() ?? 0
        let mean = shares.isEmpty ? 0 : Double(partitionCount) / Double(shares.count)
        return LayoutPlan(
            balance: "count", fromVersion: published.version, members: shares.map(\.number),
            moves: moves(diff),
            shares: shares, maxOverMean: mean > 0 ? Double(largest) / mean : 0)
    }

    /// A pool balanced by load: load rounds from the published owners with the reported loads, until
    /// one moves nothing (at most `roundLimit`), as the keeper's rounds would go if the loads held still.
    static func loadPlan(
        published: PublishedLayout, members: [WorkerNumber], partitionCount: Int, loads: [Int: Double], settings: LoadRebalance.Settings,
        roundLimit: Int = 1000
    ) throws -> LayoutPlan {
        let weights = (0..<partitionCount).map { loads[$0] ?? 0 }
        let start = published.owners.map { $0?.rawValue }
        var round = try LoadRebalance(current: start, members: members.map(\.rawValue), weights: weights, settings: settings)
        for _ in 1..<roundLimit where !round.moves.isEmpty || !round.finished {
            round = try LoadRebalance(
                current: round.owners, members: members.map(\.rawValue), weights: weights, settings: settings, unfinished: !round.finished)
        }
        let diff = LayoutDiff(from: start, to: round.owners)
        var counts = Dictionary(uniqueKeysWithValues: members.map { ($0.rawValue, 0) })
        for case let owner? in round.owners { counts[owner, default: 0] += 1 }
        let shares = counts.keys.sorted().compactMap { number in
            WorkerNumber(rawValue: number).map {
                LayoutPlan.Share(number: $0, partitions: counts[number] ?? 0, load: round.loads[number] ?? 0)
            }
        }
        return LayoutPlan(
            balance: "load", fromVersion: published.version, members: shares.map(\.number), moves: moves(diff), shares: shares,
            maxOverMean: round.maxOverMean)
    }

    private static func moves(_ diff: LayoutDiff) -> [LayoutPlan.Move] {
        diff.moves.map { move in
            LayoutPlan.Move(
                partition: Partition(move.partition), from: move.from.flatMap(WorkerNumber.init(rawValue:)),
                to: move.to.flatMap(WorkerNumber.init(rawValue:)))
        }
    }
}
