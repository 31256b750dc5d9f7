/// What changes between two owners tables (`owners[p]` = member or nil) of one partition count.
public struct AssignmentDiff: Sendable, Hashable {
    /// One partition that changes owner.
    public struct Move: Sendable, Hashable {
        public let partition: Int
        public let from: Int?
        public let to: Int?
    }

    /// Every partition whose owner differs, ascending by partition.
    public let moves: [Move]

    /// Compares `old` with `new`; a partition missing from the shorter table counts as unowned there.
    public init(from old: [Int?], to new: [Int?]) {
        var moves: [Move] = []
        for partition in 0..<max(old.count, new.count) {
            let from = partition < old.count ? old[partition] : nil
            let to = partition < new.count ? new[partition] : nil
            if from != to { moves.append(Move(partition: partition, from: from, to: to)) }
        }
        self.moves = moves
    }

    /// The number of partitions that change owner.
    public var movedCount: Int { moves.count }

    /// Partitions each member gains, ascending.
    public var gained: [Int: [Int]] {
        var result: [Int: [Int]] = [:]
        for move in moves { if let to = move.to { result[to, default: []].append(move.partition) } }
        return result
    }

    /// Partitions each member loses, ascending.
    public var lost: [Int: [Int]] {
        var result: [Int: [Int]] = [:]
        for move in moves { if let from = move.from { result[from, default: []].append(move.partition) } }
        return result
    }
}
