import Coordination
import Foundation
import Logging
import NIOPosix
import Partitioning
import ServiceLifecycle

/// The leader's work for every pool: reaps leases that ended with no heartbeat to notice, publishes a
/// pool's layout when its membership changed, and refreshes the pool's gauges. One replica leads at a
/// time (a token under `rollcall:leader` with a TTL on Redis's clock, renewed every round).
///
/// The work follows the pool schedule (`PoolSchedule`), not the clock: a round takes only the pools
/// marked due (a join, a release, an expiry, a lease about to end, handoffs under way), so an idle pool
/// costs nothing and a membership change recomputes only its own pool's layout. Publishing is once per
/// membership version (`PublishScript`), so two replicas that both believe they lead (one stalled past
/// its lease) publish the same layout once, not two.
struct PoolKeeper: Service {
    let pools: PoolDirectory
    let metrics: ControlPlaneMetrics
    let interval: Duration
    let leaderLease: Duration
    /// How often the leader marks every pool due, to find a mark lost between a script and its ZADD (a
    /// replica that died there). It is what an idle pool costs: one reap per period (POOL_SWEEP_INTERVAL).
    let sweepPeriod: Duration
    let logger: Logger
    let token = UUID().uuidString
    /// Pools taken from the schedule per pick.
    static let pickLimit = 64
    /// While handoffs are pending in a pool, it is looked at this often (for `rollcall_handoffs_pending`).
    static let handoffRecheck: Int64 = 1000

    private var schedule: PoolSchedule { pools.schedule }

    func run() async throws {
        var memory = Memory()
        var wasLeader = false
        var nextSweep = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let lead: LeadScript.Reply
                do {
                    lead = try await schedule.lead(token: token, lease: leaderLease)
                    metrics.redisReachable.record(1)
                } catch {
                    metrics.redisReachable.record(0)
                    throw error
                }
                let leads = lead != .follows
                metrics.rebalancerLeader.record(leads ? 1 : 0)
                if leads != wasLeader {
                    logger.info(leads ? "leading the pool keeper" : "no longer leading the pool keeper")
                    wasLeader = leads
                    memory = Memory()
                }
                if leads {
                    var renewed = ContinuousClock.now
                    if lead == .leads(taken: true) || renewed >= nextSweep {
                        try await schedule.markDue(try await pools.all().map(\.pool))
                        nextSweep = renewed + sweepPeriod
                    }
                    try await work(&memory, renewed: &renewed)
                }
            } catch {
                logger.warning("pool keeper could not reach Redis", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// What the leader remembers between rounds: the owners of the layouts it published, for the
    /// movement count and the handoff gauge without reading a layout back.
    struct Memory {
        var owners: [PoolName: [Int?]] = [:]
        /// Per pool balanced by load: what its rounds carry from one to the next.
        var load: [PoolName: LoadMemory] = [:]
    }

    /// What a pool balanced by load carries between rounds: the smoothed partition weights and their
    /// deviations, the members the last round found over its trigger, whether it was cut short by its
    /// budget, and when the next round is due (Redis time, ms).
    struct LoadMemory {
        var smoother = LoadSmoother(partitionCount: 0)
        var over: Set<Int> = []
        var unfinished = false
        var nextRound: Int64 = 0

        /// Folds the latest reports into the weights (a partition nobody reported keeps its weight); a
        /// changed partition count starts the weights over.
        mutating func smooth(_ reported: [Int: Double], partitionCount: Int) {
            if smoother.partitionCount != partitionCount { smoother = LoadSmoother(partitionCount: partitionCount) }
            smoother.fold(reported)
        }
    }

    /// Looks at every due pool; a pool it could not finish is marked due again. The leader lease is
    /// renewed on the way (a sweep of many pools outlasts it); if it was lost, the work stops there.
    private func work(_ memory: inout Memory, renewed: inout ContinuousClock.Instant) async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let picked = try await schedule.pick(limit: Self.pickLimit)
            for (index, name) in picked.pools.enumerated() {
                if ContinuousClock.now - renewed > leaderLease / 4 {
                    guard try await schedule.lead(token: token, lease: leaderLease) == .leads(taken: false) else {
                        try? await schedule.markDue(Array(picked.pools[index...]))
                        return
                    }
                    renewed = ContinuousClock.now
                }
                // A pool no longer declared (and not made on first use) is left: its keys stay, nobody looks.
                guard let leases = pools.existing(name) else { continue }
                do {
                    if let due = try await look(at: leases, &memory) { try await schedule.schedule(name, at: due) }
                } catch {
                    try? await schedule.markDue(Array(picked.pools[index...]))
                    throw error
                }
            }
            if !picked.more { return }
        }
    }

    /// One look at a pool: reap, publish its layout if it is not current, refresh its handoff gauges.
    /// Returns when it next needs a look (Redis time, ms), or nil when nothing will need one.
    func look(at leases: LeaseService, _ memory: inout Memory) async throws -> Int64? {
        let reap = try await leases.reap()
        metrics.poolRounds.increment()
        if reap.expired > 0 {
            logger.info("reaped expired leases", metadata: ["pool": "\(leases.pool)", "count": "\(reap.expired)"])
        }
        // A lease is past its expiry only after it (the scripts compare with `<`).
        var due = reap.dueMillis.map { $0 + 1 }
        guard leases.settings.partitionCount > 0 else { return due }
        if !reap.layoutCurrent {
            guard let owners = try await publish(leases, memory.owners[leases.pool], &memory) else { return reap.nowMillis }
            memory.owners[leases.pool] = owners
        } else if leases.settings.storesLoad, reap.live > 0 {
            if reap.nowMillis >= memory.load[leases.pool]?.nextRound ?? 0 {
                try await loadRound(leases, &memory, nowMillis: reap.nowMillis, live: reap.live)
            }
            if let next = memory.load[leases.pool]?.nextRound { due = min(due ?? .max, next) }
        }
        if reap.live > 0 || memory.owners[leases.pool] != nil {
            let owners: [Int?]
            if let known = memory.owners[leases.pool] {
                owners = known
            } else {
                owners = try await leases.publishedLayout().owners.map { $0?.rawValue }
                memory.owners[leases.pool] = owners
            }
            if try await leases.recordPendingHandoffs(owners: owners) > 0 {
                due = min(due ?? .max, reap.nowMillis + Self.handoffRecheck)
            }
        }
        return due
    }

    /// Computes and publishes the pool's layout for its current members (balanced by count: the
    /// rendezvous layout; by load: a load round from the published owners); the owners now published, or
    /// nil when the membership moved on meanwhile (look again).
    private func publish(_ leases: LeaseService, _ previousOwners: [Int?]?, _ memory: inout Memory) async throws -> [Int?]? {
        let members = try await leases.members()
        var previous = previousOwners ?? []
        if previousOwners == nil { previous = try await leases.publishedLayout().owners.map { $0?.rawValue } }
        let (owners, numbers): ([Int?], [Int])
        switch leases.settings.balance {
        case .load:
            numbers = members.numbers.map(\.rawValue)
            owners = try await membershipRound(leases, members: numbers, previous: previous, &memory)
        case .count:
            // On NIO's thread pool, not Swift's cooperative pool (one thread per core, which runs every
            // request): at 32,768 partitions the layout takes a tenth of a second of CPU.
            let (candidates, partitionCount, epsilon) = (
                members.numbers.map(\.rawValue), leases.settings.partitionCount, leases.settings.epsilon
            )
            let layout = try await NIOThreadPool.singleton.runIfActive {
                try Layout(members: candidates, partitionCount: partitionCount, epsilon: epsilon)
            }
            (owners, numbers) = (layout.owners, layout.members)
        }
        switch try await leases.publish(owners: owners, members: numbers, membership: members.membership, basis: nil, replacing: previous) {
        case .published(let version, let moved):
            logger.info(
                "published layout",
                metadata: [
                    "pool": "\(leases.pool)", "version": "\(version)", "members": "\(numbers.count)", "moved": "\(moved)",
                    "balance": "\(leases.settings.balance.rawValue)",
                ])
            return owners
        case .notPublished(.current):
            return try await leases.publishedLayout().owners.map { $0?.rawValue }
        case .notPublished:
            return nil
        }
    }

    /// A pool balanced by load, after its membership changed: the owners of a load round from the
    /// published owners (a gone member's partitions go to the lightest; a new member is filled within the
    /// move budget), to publish once for the membership as a count layout is.
    private func membershipRound(_ leases: LeaseService, members: [Int], previous: [Int?], _ memory: inout Memory) async throws -> [Int?] {
        var state = memory.load[leases.pool] ?? LoadMemory()
        state.smooth(try await leases.loads(), partitionCount: leases.settings.partitionCount)
        let round = try await rebalance(leases, owners: previous, members: members, state: state, overBefore: nil)
        state.over = round.over
        state.unfinished = !round.finished
        memory.load[leases.pool] = state
        return round.owners
    }

    /// One load round of a pool that stores load reports, whose layout is current for its members: the
    /// fleet size recorded from the reports, and (`balance: load`) the reports folded into the smoothed
    /// weights, `LoadRebalance` from the published owners, and its moves published over the
    /// version they were computed from (a membership change or another leader's round in between makes
    /// it stale: nothing is published, and the next look starts over). Every move then goes through the
    /// heartbeats' revoke-then-grant handoff, as any layout change does.
    private func loadRound(_ leases: LeaseService, _ memory: inout Memory, nowMillis: Int64, live: Int) async throws {
        var state = memory.load[leases.pool] ?? LoadMemory()
        state.nextRound = nowMillis + leases.settings.loadRoundInterval.wholeMilliseconds
        memory.load[leases.pool] = state
        let loads = try await leases.loads()
        leases.recordFleet(leases.fleetSize(loads, liveWorkers: live))
        guard leases.settings.balance == .load else { return }
        let published = try await leases.publishedLayout()
        let members = try await leases.members()
        guard published.members == members.numbers, published.partitionCount == leases.settings.partitionCount else { return }
        state.smooth(loads, partitionCount: leases.settings.partitionCount)
        let owners = published.owners.map { $0?.rawValue }
        let round = try await rebalance(
            leases, owners: owners, members: members.numbers.map(\.rawValue), state: state, overBefore: state.over)
        state.over = round.over
        state.unfinished = !round.finished
        leases.recordLoad(round)
        memory.load[leases.pool] = state
        guard !round.moves.isEmpty else { return }
        let numbers = members.numbers.map(\.rawValue)
        switch try await leases.publish(
            owners: round.owners, members: numbers, membership: members.membership, basis: published.version, replacing: owners)
        {
        case .published(let version, let moved):
            memory.owners[leases.pool] = round.owners
            logger.info(
                "published a load round",
                metadata: [
                    "pool": "\(leases.pool)", "version": "\(version)", "moved": "\(moved)",
                    "maxOverMean": "\(String(format: "%.3f", round.maxOverMean))",
                ])
        case .notPublished:
            memory.owners[leases.pool] = nil
            memory.load[leases.pool]?.unfinished = false
        }
    }

    /// `LoadRebalance` on NIO's thread pool, with the pool's settings and the smoothed weights.
    private func rebalance(
        _ leases: LeaseService, owners: [Int?], members: [Int], state: LoadMemory, overBefore: Set<Int>?
    ) async throws -> LoadRebalance {
        let settings = LoadRebalance.Settings(epsilon: leases.settings.epsilon, moveBudget: leases.settings.moveBudget)
        let (weights, deviations, unfinished) = (state.smoother.weights, state.smoother.deviations, state.unfinished)
        return try await NIOThreadPool.singleton.runIfActive {
            try LoadRebalance(
                current: owners, members: members, weights: weights, settings: settings, unfinished: unfinished, overBefore: overBefore,
                deviations: deviations)
        }
    }
}
