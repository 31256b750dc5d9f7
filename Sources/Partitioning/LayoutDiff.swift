/// What changes between two layouts' owners tables (`owners[p]` = member or nil) of one partition count.
public struct LayoutDiff: Sendable, Hashable {
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
}
