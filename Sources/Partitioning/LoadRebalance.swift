/// One round of balancing by measured load (`balance: load`): from the owners a pool has now and each
/// partition's smoothed weight, the owners it should have next, moving as few partitions as it can.
///
/// A pure function of (current owners, members, weights, settings), so the leader and a what-if plan
/// compute the same round, and a simulation can run hours of rounds in a test:
///
/// 1. A partition whose owner is gone (or that has none) goes to the member with the least load
///    (ties: fewer partitions, then the lower number), heaviest partition first. These moves are
///    forced and not counted against the budget.
/// 2. If the heaviest member carries more than `(1 + epsilon) × mean` (with `overBefore`: in this round
///    and the one before; or the previous round was cut short by its budget: `unfinished`), not counting members that hold a partition heavier than the
///    target (they cannot reach it, so they start nothing), partitions move from the heaviest of the
///    members over the trigger to the lightest member until each carries at most `(1 + epsilon / 2) ×
///    mean`, or `moveBudget` moves are made; a round that goes on from one cut short takes every member
///    over the target. The margin between the trigger and the target is the hysteresis: a pool that
///    converged sits below the target, and noise smaller than the margin moves nothing. Each move takes the heaviest partition that fits under
///    the target at the receiver, else the heaviest whose move still lowers the pair's larger load; when
///    no single move does, the heaviest and lightest exchange the pair of partitions that brings the
///    heavier closest to the target (two moves). A member that neither can lower is left as it is (it
///    carries a partition too heavy to share: `heavy` lists those partitions).
///
/// With every weight zero (an idle inbox) each partition weighs one: the round balances counts.
public struct LoadRebalance: Sendable, Hashable {
    public struct Settings: Sendable, Hashable {
        /// The allowed overload above the mean load; a round starts only when a member exceeds it.
        public var epsilon: Double
        /// The most partitions one round moves between live members (forced moves not counted).
        public var moveBudget: Int
        /// With `deviations` given: how many standard deviations of its own load a member must be over the
        /// trigger by to count as over it. Three leaves about one member in 700 over by noise alone in one
        /// round, and persistence (`overBefore`) asks for it twice.
        public var noiseMargin: Double

        public init(epsilon: Double = 0.1, moveBudget: Int = 64, noiseMargin: Double = 3) {
            self.epsilon = epsilon
            self.moveBudget = moveBudget
            self.noiseMargin = noiseMargin
        }
    }

    /// `owners[p]`: the member that owns partition `p` after the round, nil when there are no members.
    public let owners: [Int?]
    /// Partitions that changed owner in step 2 (budgeted), in the order they moved.
    public let moves: [LayoutDiff.Move]
    /// Partitions that changed owner in step 1 (their owner was gone).
    public let forced: [LayoutDiff.Move]
    /// Each member's load after the round.
    public let loads: [Int: Double]
    /// The mean load per member.
    public let mean: Double
    /// Partitions heavier than `(1 + epsilon) × mean` by themselves, ascending: no layout can bound them.
    public let heavy: [Int]
    /// Whether the round reached its target (or found nothing to do); false when the budget cut it short,
    /// and the next round should be `unfinished`.
    public let finished: Bool

    /// The heaviest member's load over the mean (1 when balanced; 0 with no load or no members).
    public var maxOverMean: Double {
        guard mean > 0, let most = loads.values.max() else { return 0 }
        return most / mean
    }

    /// The members over the trigger when the round began (after the forced moves), not counting members
    /// pinned by a partition heavier than the target: the next round's `overBefore`.
    public let over: Set<Int>

    /// One round from `current` (shorter or longer than `weights` is fine: missing partitions have no
    /// owner, extra ones are dropped). Members are deduplicated; weights must be finite and non-negative.
    ///
    /// `overBefore` is the previous round's `over`: when given, a member over the trigger starts a round
    /// only if it was over it in the previous round too. Smoothed noise crosses the trigger now and then
    /// and a round later is gone; real imbalance stays. Nil starts a round on one sighting.
    ///
    /// `deviations` (per partition, the standard deviation of its smoothed weight: `LoadSmoother`) widen
    /// the trigger by each member's own noise: a member counts as over only when its load is over the
    /// trigger by more than `noiseMargin` standard deviations of that load (the root of the sum of its
    /// partitions' variances). A member with few heavy partitions swings by several percent of the mean
    /// from noise alone, one with many light ones hardly at all; one margin for all would either move the
    /// first back and forth or leave the second unbalanced. Nil (or zeros) is the bare trigger.
    public init(
        current: [Int?], members: some Sequence<Int>, weights: [Double], settings: Settings, unfinished: Bool = false,
        overBefore: Set<Int>? = nil, deviations: [Double]? = nil
    ) throws(LayoutError) {
        guard settings.epsilon.isFinite, settings.epsilon >= 0 else { throw .invalidEpsilon(settings.epsilon) }
        guard settings.noiseMargin.isFinite, settings.noiseMargin >= 0 else { throw .invalidNoiseMargin(settings.noiseMargin) }
        if let bad = weights.firstIndex(where: { !$0.isFinite || $0 < 0 }) { throw .invalidWeight(partition: bad, weights[bad]) }
        if let deviations, let bad = deviations.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
            throw .invalidDeviation(partition: bad, deviations[bad])
        }
        let members = Array(Set(members)).sorted()
        let partitionCount = weights.count
        let total = weights.reduce(0, +)
        let weight: (Int) -> Double = total > 0 ? { weights[$0] } : { _ in 1 }
        var owners = (0..<partitionCount).map { $0 < current.count ? current[$0] : nil }
        guard !members.isEmpty else {
            self.owners = [Int?](repeating: nil, count: partitionCount)
            self.forced = LayoutDiff(from: owners, to: self.owners).moves
            self.moves = []
            self.loads = [:]
            self.mean = 0
            self.heavy = []
            self.finished = true
            self.over = []
            return
        }
        var state = MemberLoads(members: members)
        var orphans: [Int] = []
        for partition in 0..<partitionCount {
            if let owner = owners[partition], let index = state.index[owner] {
                state.add(partition, weight(partition), to: index)
            } else {
                orphans.append(partition)
            }
        }
        // 1. Forced: heaviest orphan first, each to the least-loaded member.
        orphans.sort { (weight($0), $1) > (weight($1), $0) }
        var forced: [LayoutDiff.Move] = []
        var lightest = MemberHeap(state)
        for partition in orphans {
            let index = lightest.popLightest(state)
            forced.append(LayoutDiff.Move(partition: partition, from: owners[partition], to: members[index]))
            owners[partition] = members[index]
            state.add(partition, weight(partition), to: index)
            lightest.push(index, state)
        }
        // 2. Budgeted: heaviest to lightest while the heaviest is over the trigger.
        let mean = (total > 0 ? total : Double(partitionCount)) / Double(members.count)
        let trigger = (1 + settings.epsilon) * mean
        let target = (1 + settings.epsilon / 2) * mean
        var moves: [LayoutDiff.Move] = []
        var stuck = Set<Int>()
        var finished = true
        func move(_ partition: Int, from giver: Int, to receiver: Int) {
            state.remove(partition, weight(partition), from: giver)
            state.add(partition, weight(partition), to: receiver)
            owners[partition] = members[receiver]
            moves.append(LayoutDiff.Move(partition: partition, from: members[giver], to: members[receiver]))
        }
        // A member with a partition heavier than the target cannot be brought to it: it does not start a
        // round (else every round would start, and noise would move partitions among the others).
        let pinned = Set(members.indices.filter { member in state.partitions[member].contains { weight($0) > target } })
        let noise: (Int) -> Double = { member in
            guard let deviations, settings.noiseMargin > 0 else { return 0 }
            let variance = state.partitions[member].reduce(0.0) { sum, partition in
                let deviation = partition < deviations.count ? deviations[partition] : 0
                return sum + deviation * deviation
            }
            return settings.noiseMargin * variance.squareRoot()
        }
        let over = members.indices.filter { !pinned.contains($0) && state.load[$0] - noise($0) > trigger }
        let starts = overBefore.map { before in over.contains { before.contains(members[$0]) } } ?? !over.isEmpty
        if state.heaviest(excluding: pinned) != nil, unfinished || starts {
            // A round sheds load from the members over the trigger, down to the target; the members between
            // the two are within bounds and keep what they have (else every round noise starts would move
            // them too). A round that goes on from one cut short takes every member over the target.
            if !unfinished { stuck.formUnion(members.indices.filter { state.load[$0] <= trigger }) }
            while let giver = state.heaviest(excluding: stuck), state.load[giver] > target {
                guard moves.count < settings.moveBudget else {
                    finished = false
                    break
                }
                let receiver = state.lightest()
                if let partition = state.bestMove(from: giver, to: receiver, target: target, weight: weight) {
                    move(partition, from: giver, to: receiver)
                } else if moves.count + 2 <= settings.moveBudget,
                    let (given, taken) = state.bestSwap(between: giver, and: receiver, target: target, weight: weight)
                {
                    move(given, from: giver, to: receiver)
                    move(taken, from: receiver, to: giver)
                } else {
                    stuck.insert(giver)
                }
            }
        }
        self.owners = owners
        self.moves = moves
        self.forced = forced
        self.mean = mean
        self.loads = Dictionary(uniqueKeysWithValues: members.indices.map { (members[$0], state.load[$0]) })
        self.heavy = total > 0 ? (0..<partitionCount).filter { weights[$0] > trigger } : []
        self.finished = finished
        self.over = Set(over.map { members[$0] })
    }
}

/// Per member (by index into the sorted members): its load and its partitions.
private struct MemberLoads {
    let members: [Int]
    let index: [Int: Int]
    var load: [Double]
    var partitions: [[Int]]

    init(members: [Int]) {
        self.members = members
        index = Dictionary(uniqueKeysWithValues: members.enumerated().map { ($1, $0) })
        load = Array(repeating: 0, count: members.count)
        partitions = Array(repeating: [], count: members.count)
    }

    mutating func add(_ partition: Int, _ weight: Double, to member: Int) {
        load[member] += weight
        partitions[member].append(partition)
    }

    mutating func remove(_ partition: Int, _ weight: Double, from member: Int) {
        load[member] -= weight
        if let position = partitions[member].firstIndex(of: partition) { partitions[member].remove(at: position) }
    }

    /// Orders members lighter first: less load, then fewer partitions, then the lower number.
    func lighter(_ a: Int, _ b: Int) -> Bool {
        (load[a], partitions[a].count, members[a]) < (load[b], partitions[b].count, members[b])
    }

    func lightest() -> Int { members.indices.min { lighter($0, $1) }! }

    /// The heaviest member not in `excluding` (ties: more partitions, then the lower number).
    func heaviest(excluding: Set<Int>) -> Int? {
        members.indices.filter { !excluding.contains($0) }.max { a, b in
            (load[a], partitions[a].count, -members[a]) < (load[b], partitions[b].count, -members[b])
        }
    }

    /// The partition of `giver` to move to `receiver`: the heaviest that keeps the receiver at or under
    /// `target`, else the heaviest whose move lowers the larger of the two loads; nil if none does.
    /// Ties: the lower partition.
    func bestMove(from giver: Int, to receiver: Int, target: Double, weight: (Int) -> Double) -> Int? {
        guard giver != receiver else { return nil }
        var fits: (partition: Int, weight: Double)? = nil
        var helps: (partition: Int, weight: Double)? = nil
        // Heavier first; ties: the lower partition.
        func better(_ partition: Int, _ w: Double, than best: (partition: Int, weight: Double)?) -> Bool {
            best.map { (w, -partition) > ($0.weight, -$0.partition) } ?? true
        }
        for partition in partitions[giver] {
            let w = weight(partition)
            guard w > 0 else { continue }
            if load[receiver] + w <= target, better(partition, w, than: fits) { fits = (partition, w) }
            if load[receiver] + w < load[giver], better(partition, w, than: helps) { helps = (partition, w) }
        }
        return (fits ?? helps)?.partition
    }

    /// A partition of `giver` and a lighter one of `receiver` to exchange: the pair that leaves the
    /// heavier of the two closest to `target` while lowering it; nil if no pair lowers it. Ties: lower
    /// partitions.
    func bestSwap(between giver: Int, and receiver: Int, target: Double, weight: (Int) -> Double) -> (Int, Int)? {
        guard giver != receiver else { return nil }
        var best: (given: Int, taken: Int, after: Double)? = nil
        for given in partitions[giver] {
            for taken in partitions[receiver] {
                let shift = weight(given) - weight(taken)
                guard shift > 0 else { continue }
                let after = max(load[giver] - shift, load[receiver] + shift)
                guard after < load[giver] else { continue }
                let distance = abs(after - target)
                if best.map({ (distance, given, taken) < (abs($0.after - target), $0.given, $0.taken) }) ?? true {
                    best = (given, taken, after)
                }
            }
        }
        return best.map { ($0.given, $0.taken) }
    }
}

/// A binary min-heap of member indexes ordered by `MemberLoads.lighter`, for handing out many orphans
/// without a scan of every member each time. An entry is pushed again after its member's load changes.
private struct MemberHeap {
    private var heap = BinaryHeap<Int>()

    init(_ state: MemberLoads) {
        heap.reserveCapacity(state.members.count)
        for index in state.members.indices { push(index, state) }
    }

    mutating func push(_ index: Int, _ state: MemberLoads) { heap.push(index) { state.lighter($0, $1) } }

    /// Removes and returns the lightest member (the heap always holds every member between pops).
    mutating func popLightest(_ state: MemberLoads) -> Int {
        guard let lightest = heap.pop(by: { state.lighter($0, $1) }) else {
            preconditionFailure("the member heap is never empty when popped")
        }
        return lightest
    }
}
