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
/// members passing partitions on in chains) grows as `P / N` shrinks. docs/operations.md ("Keys, partitions and owners") has the table.
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

    /// How many candidates per partition are kept between passes over the members (see `Shortlists`).
    static let shortlistDepth = 8

    /// Step 3 without a score table: each partition keeps a shortlist of its best members (a pass of
    /// `memberCount` hashes fills it); only a partition that finds every shortlisted member full
    /// hashes the members again, for the next ones below its last. Memory is `partitionCount ×
    /// shortlistDepth` entries instead of `partitionCount × memberCount` scores, time the
    /// `partitionCount × memberCount` hashes the first choices need, plus the rare refills.
    static func boundedLoadOwners(members: [Int], partitionCount: Int, capacity: Int, shortlistDepth: Int = shortlistDepth) -> [Int?] {
        var owners = [Int?](repeating: nil, count: partitionCount)
        guard !members.isEmpty else { return owners }
        var shortlists = Shortlists(members: members, partitionCount: partitionCount, depth: max(1, min(shortlistDepth, members.count)))
        var load = [Int](repeating: 0, count: members.count)
        var queue = CandidateQueue()
        queue.reserveCapacity(partitionCount)
        // With room for several partitions per member, most partitions never need a second choice, and
        // finding the best is cheaper than the best eight; with room for few, many do, and a second pass over
        // the members for each would cost more than keeping eight from the start.
        let firstDepth = capacity >= 8 ? 1 : shortlistDepth
        for partition in 0..<partitionCount {
            shortlists.fill(partition, below: nil, skippingFull: load, capacity: capacity, limit: firstDepth)
            queue.push(shortlists.current(partition))
        }
        // Pops pairs in global (score desc, partition asc) order: each unowned partition has exactly
        // one entry, its best member not yet found full. A full member stays full, so skipping it is final.
        while let candidate = queue.pop() {
            if load[candidate.memberIndex] < capacity {
                load[candidate.memberIndex] += 1
                owners[candidate.partition] = members[candidate.memberIndex]
                continue
            }
            // capacity * memberCount >= partitionCount, so some member always has room.
            queue.push(shortlists.next(candidate.partition, load: load, capacity: capacity))
        }
        return owners
    }
}

/// Per partition, its best members not yet found full, best first: flat arrays of `depth` entries a
/// partition, so 32,768 partitions take 32,768 × 8 × 12 bytes, not a score for every member.
struct Shortlists {
    private let memberKeys: [UInt64]
    private let depth: Int
    private var scores: [UInt64]
    private var indices: [Int32]
    /// Entries in each partition's shortlist, and the one in use.
    private var counts: [Int32]
    private var cursors: [Int32]

    init(members: [Int], partitionCount: Int, depth: Int) {
        memberKeys = members.map { UInt64(UInt32(truncatingIfNeeded: $0)) << 32 }
        self.depth = depth
        scores = [UInt64](repeating: 0, count: partitionCount * depth)
        indices = [Int32](repeating: 0, count: partitionCount * depth)
        counts = [Int32](repeating: 0, count: partitionCount)
        cursors = [Int32](repeating: 0, count: partitionCount)
    }

    /// The pair in use for `partition`.
    func current(_ partition: Int) -> Candidate {
        let slot = partition * depth + Int(cursors[partition])
        return Candidate(score: scores[slot], partition: partition, memberIndex: Int(indices[slot]))
    }

    /// The best member of `partition` after the one in use that is not full, refilling the shortlist
    /// from the members ranked below its last entry when it runs out.
    mutating func next(_ partition: Int, load: [Int], capacity: Int) -> Candidate {
        let base = partition * depth
        var cursor = Int(cursors[partition]) + 1
        while cursor < Int(counts[partition]), load[Int(indices[base + cursor])] >= capacity { cursor += 1 }
        if cursor == Int(counts[partition]) {
            let last = base + Int(counts[partition]) - 1
            fill(partition, below: (scores[last], Int(indices[last])), skippingFull: load, capacity: capacity)
        } else {
            cursors[partition] = Int32(cursor)
        }
        return current(partition)
    }

    /// Fills `partition`'s shortlist with its best `depth` members ranked after `bound` (score
    /// descending, then member index ascending) that are not full; with no bound, the best of all.
    mutating func fill(
        _ partition: Int, below bound: (score: UInt64, index: Int)?, skippingFull load: [Int], capacity: Int, limit: Int? = nil
    ) {
        let base = partition * depth
        let depth = min(limit ?? depth, depth)
        let partitionKey = UInt64(UInt32(truncatingIfNeeded: partition))
        var count = 0
        scores.withUnsafeMutableBufferPointer { scores in
            indices.withUnsafeMutableBufferPointer { indices in
                memberKeys.withUnsafeBufferPointer { keys in
                    // Once the list is full, anything ranked no better than its last entry is passed over with
                    // one comparison: the common case, so this loop runs at about the speed of the hashing.
                    var worstKept: UInt64 = 0
                    for index in 0..<keys.count {
                        let score = XXHash64.hash(littleEndianWord: partitionKey | keys[index])
                        if count == depth, score <= worstKept { continue }
                        if let bound, score > bound.score || (score == bound.score && index <= bound.index) { continue }
                        if bound != nil, load[index] >= capacity { continue }
                        // Insert in order; equal scores keep the lower index first (indices arrive ascending).
                        var slot = min(count, depth - 1)
                        while slot > 0, scores[base + slot - 1] < score {
                            scores[base + slot] = scores[base + slot - 1]
                            indices[base + slot] = indices[base + slot - 1]
                            slot -= 1
                        }
                        scores[base + slot] = score
                        indices[base + slot] = Int32(truncatingIfNeeded: index)
                        count = min(count + 1, depth)
                        worstKept = scores[base + count - 1]
                    }
                }
            }
        }
        counts[partition] = Int32(truncatingIfNeeded: count)
        cursors[partition] = 0
    }
}
