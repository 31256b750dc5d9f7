/// The layout: which member (worker number) owns each partition. Rendezvous (highest-random-weight)
/// hashing with bounded loads; not a ring, though it does what a consistent-hashing ring is for.
///
/// The layout is a pure function of (members, partitionCount, epsilon), so every process, and
/// a client in another language, computes the same `owners` table (see docs/layout_reference.py):
///
/// 1. `score(p, m) = XXH64(8 bytes: UInt32 LE p, then UInt32 LE m; seed 0)`.
/// 2. `capacity = ceil((1 + epsilon) * partitionCount / memberCount)` in IEEE-754 doubles.
/// 3. Walk every (partition, member) pair in order of score descending (ties: lower partition,
///    then lower member, first); give the partition to the member if the partition is still
///    unowned and the member owns fewer than `capacity` partitions.
///
/// Step 3 is the unique stable matching between partitions and members under one shared score,
/// so the order in which an implementation visits partitions cannot change the result. Each
/// partition goes to its highest-scoring member unless that member is full, so a join or leave
/// moves little more than the ideal `P / N` while `P / N` is large; the extra movement (full
/// members passing partitions on in chains) grows as `P / N` shrinks. README.md has the table.
public struct Layout: Sendable, Hashable {
    /// Member numbers, sorted ascending, without duplicates.
    public let members: [Int]
    /// The number of partitions.
    public let partitionCount: Int
    /// The allowed overload above the mean share.
    public let epsilon: Double
    /// The most partitions any member owns: `ceil((1 + epsilon) * partitionCount / members.count)`.
    public let capacity: Int
    /// `owners[p]` is the member that owns partition `p`, or nil when there are no members.
    public let owners: [Int?]

    /// Lays out `partitionCount` partitions over `members` with loads bounded by `1 + epsilon`.
    public init<Members: Sequence>(members: Members, partitionCount: Int, epsilon: Double = 0.1) throws(LayoutError)
    where Members.Element == Int {
        guard partitionCount >= 1 else { throw .invalidPartitionCount(partitionCount) }
        guard epsilon.isFinite, epsilon >= 0 else { throw .invalidEpsilon(epsilon) }
        let sorted = Array(Set(members)).sorted()
        if let bad = sorted.first(where: { $0 < 0 || $0 > Int(UInt32.max) }) { throw .invalidMember(bad) }
        self.members = sorted
        self.partitionCount = partitionCount
        self.epsilon = epsilon
        self.capacity = Layout.capacity(partitionCount: partitionCount, memberCount: sorted.count, epsilon: epsilon)
        self.owners = Layout.boundedLoadOwners(members: sorted, partitionCount: partitionCount, capacity: capacity)
    }

    /// `ceil((1 + epsilon) * partitionCount / memberCount)`, or 0 with no members.
    public static func capacity(partitionCount: Int, memberCount: Int, epsilon: Double) -> Int {
        guard memberCount > 0 else { return 0 }
        return Int(((1 + epsilon) * Double(partitionCount) / Double(memberCount)).rounded(.up))
    }

    /// The rendezvous score of `member` for `partition`.
    @inlinable
    public static func score(partition: Int, member: Int) -> UInt64 {
        XXHash64.hash(littleEndianWord: UInt64(UInt32(truncatingIfNeeded: partition)) | UInt64(UInt32(truncatingIfNeeded: member)) << 32)
    }

    /// The owner of `partition`, or nil when it is out of range or unowned.
    public func owner(ofPartition partition: Int) -> Int? {
        owners.indices.contains(partition) ? owners[partition] : nil
    }

    /// The partitions `member` owns, ascending.
    public func partitions(ownedBy member: Int) -> [Int] {
        owners.indices.filter { owners[$0] == member }
    }

    /// Every member's partitions, ascending, in one pass over `owners` (members that own none map to []).
    public var partitionsByMember: [Int: [Int]] {
        var result = Dictionary(uniqueKeysWithValues: members.map { ($0, [Int]()) })
        for (partition, owner) in owners.enumerated() { if let owner { result[owner, default: []].append(partition) } }
        return result
    }

    /// How many partitions each member owns (members that own none are listed with 0).
    public var loads: [Int: Int] {
        var loads = Dictionary(uniqueKeysWithValues: members.map { ($0, 0) })
        for case let owner? in owners { loads[owner, default: 0] += 1 }
        return loads
    }

    static func boundedLoadOwners(members: [Int], partitionCount: Int, capacity: Int) -> [Int?] {
        var owners = [Int?](repeating: nil, count: partitionCount)
        let memberCount = members.count
        guard memberCount > 0 else { return owners }

        // scores[p * memberCount + i] is the score of members[i] for partition p.
        var scores = [UInt64](repeating: 0, count: partitionCount * memberCount)
        for partition in 0..<partitionCount {
            for (index, member) in members.enumerated() {
                scores[partition * memberCount + index] = score(partition: partition, member: member)
            }
        }
        // Candidates of a partition, best first; built only for partitions whose first choice is full.
        var ranked = [[Int]?](repeating: nil, count: partitionCount)
        var nextRank = [Int](repeating: 1, count: partitionCount)
        var queue = CandidateQueue()
        queue.reserveCapacity(partitionCount)
        for partition in 0..<partitionCount {
            var best = 0
            for index in 1..<memberCount where scores[partition * memberCount + index] > scores[partition * memberCount + best] {
                best = index
            }
            queue.push(Candidate(score: scores[partition * memberCount + best], partition: partition, memberIndex: best))
        }

        // Pops pairs in global (score desc, partition asc) order: each unowned partition has exactly
        // one entry, its best member not yet found full. A full member stays full, so skipping it is final.
        var load = [Int](repeating: 0, count: memberCount)
        while let candidate = queue.pop() {
            if load[candidate.memberIndex] < capacity {
                load[candidate.memberIndex] += 1
                owners[candidate.partition] = members[candidate.memberIndex]
                continue
            }
            let partition = candidate.partition
            if ranked[partition] == nil {
                let base = partition * memberCount
                ranked[partition] = (0..<memberCount).sorted {
                    scores[base + $0] != scores[base + $1] ? scores[base + $0] > scores[base + $1] : $0 < $1
                }
            }
            let order = ranked[partition]!
            while nextRank[partition] < memberCount, load[order[nextRank[partition]]] >= capacity {
                nextRank[partition] += 1
            }
            // capacity * memberCount >= partitionCount, so some member always has room.
            let index = order[nextRank[partition]]
            nextRank[partition] += 1
            queue.push(Candidate(score: scores[partition * memberCount + index], partition: partition, memberIndex: index))
        }
        return owners
    }
}
