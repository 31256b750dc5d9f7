import Coordination
import Logging
import NIOCore
import NIOPosix
import Partitioning
import RedisAdapter
import ServerSupport

/// Every lease operation of one pool, as the HTTP routes and the pool keeper use them: validation
/// against the pool's settings, the lease store call, the outcome, and the metrics. It answers domain
/// outcomes and refuses with `LeaseRefusal` (the HTTP layer picks the status). It is the one place that
/// records the control plane's metrics and the one caller of `LeaseStore`.
final class LeaseService: Sendable {
    let pool: PoolName
    let store: LeaseStore
    let settings: LeaseSettings
    let metrics: ControlPlaneMetrics
    let poolMetrics: PoolMetrics
    /// Where a change of membership or a new lease is marked, so the leader looks at the pool.
    let schedule: PoolSchedule
    let generation = GenerationObserver()

    init(
        pool: PoolName, store: LeaseStore, settings: LeaseSettings, metrics: ControlPlaneMetrics, metricsLabel: String,
        schedule: PoolSchedule
    ) {
        self.pool = pool
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.poolMetrics = metrics.pool(label: metricsLabel)
        self.schedule = schedule
        poolMetrics.partitions.record(settings.partitionCount)
    }

    private static let logger = Logger(label: "rollcall.leases")

    /// The instance `GET /{name}` leases under, so repeated GETs renew one lease (podnum's behaviour).
    static let shortcutInstance: InstanceID = "get-shortcut"

    /// `POST /v1/workers/{name}/heartbeat`: `body` decodes the request (the HTTP layer's errors pass through).
    func heartbeat(rawName: String?, body: () async throws -> HeartbeatRequest) async throws -> HeartbeatResponse {
        let name: WorkerName
        let request: HeartbeatRequest
        do {
            name = try Self.name(rawName)
            request = try await body()
            try validate(request)
        } catch {
            poolMetrics.heartbeat(.invalid)
            throw error
        }
        let script = HeartbeatScript(
            name: name, instance: request.instance, sequence: request.sequence, held: request.held ?? [],
            heldEpochs: request.heldEpochs, claim: request.number.flatMap { number in request.epoch.map { (number, $0) } },
            kind: request.kind ?? .member, settings: settings, recoveryMargin: store.recoveryMargin)
        let reply: HeartbeatScript.Reply
        do throws(LeaseStoreError) {
            reply = try await run(script)
        } catch {
            let refusal = LeaseRefusal(error)
            poolMetrics.heartbeat(refusal.code == .notReplicated ? .unreplicated : .unavailable)
            throw refusal
        }
        await record(reply)
        switch reply.outcome {
        case .leased(let lease):
            poolMetrics.heartbeat(.granted)
            if settings.storesLoad, let load = request.load, !load.partitions.isEmpty {
                await report(load, name: name, epoch: lease.epoch)
            }
            return HeartbeatResponse(
                name: name.rawValue, instance: request.instance, number: lease.number, epoch: lease.epoch,
                leaseTTLMillis: settings.leaseTTL.wholeMilliseconds, heartbeatIntervalMillis: settings.heartbeatInterval.wholeMilliseconds,
                layoutVersion: lease.layoutVersion, partitions: lease.grants.map(\.partition), partitionEpochs: lease.grants.map(\.epoch),
                revoked: lease.revoked, consumerGroup: ConsumerGroup.name(prefix: settings.consumerGroupPrefix, number: lease.number),
                partitionCount: settings.partitionCount, generation: lease.generation, kind: lease.kind)
        case .stale:
            poolMetrics.heartbeat(.stale)
            throw LeaseRefusal.stale(instance: request.instance)
        case .recovering(let retryAfter):
            poolMetrics.heartbeat(.recovering)
            throw LeaseRefusal.recovering(retryAfterMillis: retryAfter)
        case .kindMismatch:
            poolMetrics.heartbeat(.conflict)
            throw LeaseRefusal.kindMismatch(name, request.kind ?? .member)
        case .conflict(let retryAfter):
            poolMetrics.heartbeat(.conflict)
            throw LeaseRefusal.heldByAnother(name, retryAfterMillis: retryAfter)
        case .exhausted(let retryAfter):
            poolMetrics.heartbeat(.exhausted)
            throw LeaseRefusal.exhausted(maxWorkers: settings.maxWorkers, retryAfterMillis: retryAfter)
        }
    }

    /// `GET /{name}`: the name's number, leasing one if the name has none (podnum-compatible).
    func number(rawName: String?) async throws(LeaseRefusal) -> WorkerNumber {
        let name = try Self.name(rawName)
        let reply = try await storeCall { () async throws(LeaseStoreError) in
            try await run(
                HeartbeatScript(
                    name: name, instance: Self.shortcutInstance, held: [], kind: .numberOnly,
                    settings: settings, recoveryMargin: store.recoveryMargin))
        }
        await record(reply)
        switch reply.outcome {
        case .leased(let lease):
            return lease.number
        case .conflict:
            // A real worker holds the name: report its number without touching its lease.
            guard let live = try await workers().first(where: { $0.name == name.rawValue }) else {
                throw .changingHands(name)
            }
            return live.number
        case .exhausted(let retryAfter):
            throw .exhausted(maxWorkers: settings.maxWorkers, retryAfterMillis: retryAfter)
        case .recovering(let retryAfter):
            throw .recovering(retryAfterMillis: retryAfter)
        case .stale, .kindMismatch:
            // The shortcut sends no sequence, so the store never finds it stale; a live lease of the name
            // held by the shortcut instance is number-only. Neither happens; answer as for a changing name.
            throw .changingHands(name)
        }
    }

    /// `DELETE /v1/workers/{name}?instance=`: frees the number and partitions at once.
    func release(rawName: String?, instance: String?) async throws(LeaseRefusal) {
        let name = try Self.name(rawName)
        guard let instance, InstanceID.isValid(instance) else {
            throw .invalid(.invalidInstance, "?instance= is required: \(InstanceID.rule)")
        }
        switch try await storeCall({ () async throws(LeaseStoreError) in
            try await run(ReleaseScript(name: name, instance: InstanceID(rawValue: instance), settings: settings))
        }) {
        case .released:
            poolMetrics.leasesReleased.increment()
            await schedule.markDue(pool)
        case .conflict:
            throw .heldByAnother(name, retryAfterMillis: nil)
        case .unknown:
            throw .unknownName(name)
        }
    }

    /// `GET /v1/workers`.
    func workers() async throws(LeaseRefusal) -> [WorkerSummary] {
        try await storeCall { () async throws(LeaseStoreError) in
            try await timed { () async throws(LeaseStoreError) in try await store.workers() }
        }
    }

    /// This pool in `GET /v1/pools`.
    func summary(declared: Bool, settingsPending: Bool) async throws(LeaseRefusal) -> PoolSummary {
        let counts = try await storeCall { () async throws(LeaseStoreError) in
            try await timed { () async throws(LeaseStoreError) in try await store.counts() }
        }
        return PoolSummary(
            name: pool, partitions: settings.partitionCount, maxWorkers: settings.maxWorkers,
            leaseTTLMillis: settings.leaseTTL.wholeMilliseconds, heartbeatIntervalMillis: settings.heartbeatInterval.wholeMilliseconds,
            numberQuarantineMillis: settings.numberQuarantine.wholeMilliseconds, consumerGroupPrefix: settings.consumerGroupPrefix,
            declared: declared, settingsPending: settingsPending, liveWorkers: counts.live, layoutVersion: counts.layoutVersion,
            balance: settings.balance.rawValue)
    }

    /// `GET /v1/pools/{pool}/fleet`: the pool's reported load and the workers it needs.
    func fleet() async throws(LeaseRefusal) -> FleetSize {
        let (loads, counts) = try await storeCall { () async throws(LeaseStoreError) in
            try await timed { () async throws(LeaseStoreError) in
                (settings.storesLoad ? try await store.loads() : [:], try await store.counts())
            }
        }
        return fleetSize(loads, liveWorkers: counts.live)
    }

    /// The fleet size of `loads` (partition -> latest report), recorded in `rollcall_desired_workers`
    /// by the leader's rounds.
    func fleetSize(_ loads: [Int: Double], liveWorkers: Int) -> FleetSize {
        let inPool = loads.filter { $0.key < settings.partitionCount }
        return FleetSize(
            pool: pool, load: inPool.values.reduce(0, +), reportedPartitions: inPool.count,
            targetLoadPerWorker: settings.targetLoadPerWorker, maxWorkers: settings.maxWorkers, liveWorkers: liveWorkers)
    }

    /// Records the pool's fleet size in its gauges (the leader, each load round).
    func recordFleet(_ fleet: FleetSize) {
        poolMetrics.loadTotal.record(fleet.load)
        if let desired = fleet.desiredWorkers { poolMetrics.desiredWorkers.record(desired) }
    }

    /// How many live leases the pool has, or nil when Redis does not answer.
    func liveLeases() async -> Int? { try? await store.counts().live }

    /// `GET /v1/layout`.
    func layout() async throws(LeaseRefusal) -> PublishedLayout {
        try await storeCall { () async throws(LeaseStoreError) in
            try await timed { () async throws(LeaseStoreError) in try await store.layout() }
        }
    }

    /// `GET /v1/pools/{pool}/plan`: the layout `scenario` would give and what it would move, from the
    /// published layout; nothing is changed. The layout is computed off the concurrency pool, as the keeper does.
    func plan(_ scenario: PlanScenario) async throws(LeaseRefusal) -> LayoutPlan {
        guard settings.partitionCount > 0 else {
            throw .invalid(.invalidRequest, "pool \(pool) has no partitions (numbers only): there is no layout to plan")
        }
        let (published, members) = try await storeCall { () async throws(LeaseStoreError) in
            try await timed { () async throws(LeaseStoreError) in (try await store.layout(), try await run(MembersScript())) }
        }
        var drained: WorkerNumber? = nil
        if case .drain(let name) = scenario {
            guard let live = try await workers().first(where: { $0.name == name.rawValue && $0.kind == .member }) else {
                throw .unknownName(name)
            }
            drained = live.number
        }
        let planned = scenario.members(current: members.numbers, drained: drained)
        let (partitionCount, epsilon) = (settings.partitionCount, settings.epsilon)
        let loads = settings.balance == .load ? try await storeCall { () async throws(LeaseStoreError) in try await self.loads() } : nil
        let loadSettings = LoadRebalance.Settings(epsilon: epsilon, moveBudget: settings.moveBudget)
        do {
            return try await NIOThreadPool.singleton.runIfActive {
                guard let loads else {
                    return try LayoutPlanner.plan(published: published, members: planned, partitionCount: partitionCount, epsilon: epsilon)
                }
                return try LayoutPlanner.loadPlan(
                    published: published, members: planned, partitionCount: partitionCount, loads: loads, settings: loadSettings)
            }
        } catch {
            throw .storeUnavailable("the plan could not be computed: \(error)")
        }
    }

    /// `GET /v1/overview`: the status page's data, with the lease store's health as this replica sees it.
    func overview() async throws(LeaseRefusal) -> Overview {
        try await storeCall { () async throws(LeaseStoreError) in
            let start = ContinuousClock.now
            let reply = try await timed { () async throws(LeaseStoreError) in try await store.overview(eventCount: 50) }
            let latency = ContinuousClock.now - start
            let replication = try await timed { () async throws(LeaseStoreError) in try await store.replicationStatus() }
            // The loads are a second read (an HSCAN, not part of the script's moment): reports change
            // every few seconds, and a holder that changed in between only moves one partition's share.
            let loads = settings.storesLoad ? try await timed { () async throws(LeaseStoreError) in try await store.loads() } : nil
            return Overview(
                reply, settings: settings,
                redis: .init(
                    primary: replication.primary, connectedReplicas: replication.connectedReplicas,
                    minReplicas: store.redis.configuration.minReplicas, latencyMillis: Double(latency.nanoseconds) / 1e6,
                    generation: reply.generation, recoveryMillisLeft: max(reply.recoveryUntilMillis - reply.nowMillis, 0)),
                loads: loads, fleet: loads.map { fleetSize($0, liveWorkers: reply.workers.count) })
        }
    }

    /// The pool's reap: releases expired leases, and says when the pool next needs a look and whether
    /// its layout is current.
    func reap() async throws(LeaseStoreError) -> ReapScript.Reply {
        let reply = try await run(ReapScript(settings: settings, recoveryMargin: store.recoveryMargin))
        observe(reply.generation)
        poolMetrics.leasesExpired.increment(by: reply.expired)
        poolMetrics.liveWorkers.record(reply.live)
        poolMetrics.numberOnlyLeases.record(reply.numberOnly)
        return reply
    }

    /// The membership version and the numbers leased at that version.
    func members() async throws(LeaseStoreError) -> MembersScript.Reply { try await run(MembersScript()) }

    /// What publishing a layout did: its version and how many partitions changed owner, or nothing
    /// (the membership moved on, or another replica leads).
    enum Publication: Equatable {
        case published(version: Int64, moved: Int)
        case notPublished(PublishScript.Reply)
    }

    /// Publishes `owners` over `members` for `membership` (`basis`: the published version a load round
    /// changes; nil for a layout that follows a membership change) unless the membership or the version
    /// moved on meanwhile; `previous` is what it replaces, for the movement count.
    func publish(owners: [Int?], members: [Int], membership: Int64, basis: Int64?, replacing previous: [Int?]) async throws(LeaseStoreError)
        -> Publication
    {
        let moved = LayoutDiff(from: previous, to: owners).movedCount
        let reply = try await run(PublishScript(owners: owners, members: members, membership: membership, moved: moved, basis: basis))
        guard case .published(let version) = reply else { return .notPublished(reply) }
        poolMetrics.partitionsMoved.increment(by: moved)
        poolMetrics.layoutVersion.record(version)
        return .published(version: version, moved: moved)
    }

    /// Records a load round's balance in the pool's gauges.
    func recordLoad(_ round: LoadRebalance) {
        poolMetrics.loadMaxOverMean.record(round.maxOverMean)
    }

    /// partition -> the load its worker last reported (`balance: load`).
    func loads() async throws(LeaseStoreError) -> [Int: Double] {
        try await timed { () async throws(LeaseStoreError) in try await store.loads() }
    }

    /// The published layout, as a new leader finds it: it counts movement from it, and adopts it when it
    /// is what it would publish.
    func publishedLayout() async throws(LeaseStoreError) -> PublishedLayout {
        try await timed { () async throws(LeaseStoreError) in try await store.layout() }
    }

    /// Records how many partitions are granted to a number other than their owner in `owners`, or to none
    /// (handoffs pending), and how many are granted to nobody (unowned); returns the pending count.
    @discardableResult
    func recordPendingHandoffs(owners: [Int?]) async throws(LeaseStoreError) -> Int {
        let grants = try await timed { () async throws(LeaseStoreError) in try await store.grants() }
        let pending = owners.enumerated().filter { partition, owner in owner != nil && grants[partition]?.rawValue != owner }.count
        poolMetrics.handoffsPending.record(pending)
        poolMetrics.partitionsUnowned.record(owners.indices.filter { grants[$0] == nil }.count)
        return pending
    }

    /// What the Redis pool calls when it finds a (new) primary: the metric and a log line. The pool exists
    /// before the service, so the service hands it this instead of being called.
    static func primaryChanges(metrics: ControlPlaneMetrics, logger: Logger) -> @Sendable (String?, String) -> Void {
        { old, new in
            metrics.primaryChanged(from: old, to: new)
            if let old {
                logger.warning("Redis primary changed", metadata: ["from": "\(old)", "to": "\(new)"])
            } else {
                logger.info("Redis primary", metadata: ["address": "\(new)"])
            }
        }
    }

    /// The metrics every heartbeat script run reports, from either route; a new lease or an expiry marks
    /// the pool due, so the leader reaps it when that lease ends and publishes a layout for the change.
    private func record(_ reply: HeartbeatScript.Reply) async {
        if reply.expired > 0 { poolMetrics.leasesExpired.increment(by: reply.expired) }
        var changed = reply.expired > 0
        if case .leased(let lease) = reply.outcome {
            if lease.newLease { poolMetrics.leasesGranted.increment() }
            if lease.adopted { poolMetrics.leasesAdopted.increment() }
            changed = changed || lease.newLease || lease.adopted
            observe(lease.generation)
        }
        if changed { await schedule.markDue(pool) }
    }

    /// Remembers the store generation; a change means the store lost or may have lost writes.
    private func observe(_ current: Generation) {
        if generation.observe(current) { poolMetrics.storeGenerations.increment() }
    }

    private func run<Script: LeaseScript>(_ script: Script) async throws(LeaseStoreError) -> Script.Reply where Script.Key == LeaseKey {
        do {
            let reply = try await timed { () async throws(LeaseStoreError) in try await store.run(script) }
            metrics.replicationAcknowledged.record(1)
            return reply
        } catch {
            if case .redis(.notReplicated) = error { metrics.replicationAcknowledged.record(0) }
            throw error
        }
    }

    /// Every lease-store call goes through here, so the latency histogram sees them all.
    private func timed<T>(_ call: () async throws(LeaseStoreError) -> T) async throws(LeaseStoreError) -> T {
        let start = ContinuousClock.now
        defer { metrics.redisLatency.recordNanoseconds((ContinuousClock.now - start).nanoseconds) }
        return try await call()
    }

    /// Runs a lease-store call for a route; a store failure becomes a refusal (`storeUnavailable` or `notReplicated`).
    private func storeCall<T>(_ body: () async throws(LeaseStoreError) -> T) async throws(LeaseRefusal) -> T {
        do {
            return try await body()
        } catch {
            throw LeaseRefusal(error)
        }
    }

    /// Stores a heartbeat's load report (`balance: load`) as partition weights. The lease is renewed
    /// whatever happens here: a report that could not be stored is logged, and the next one replaces it.
    private func report(_ load: PartitionLoadReport, name: WorkerName, epoch: Epoch) async {
        let backlogSeconds = settings.backlogSeconds
        let loads = load.partitions.indices.map { index in
            (partition: load.partitions[index].rawValue, load: load.rowsPerSecond[index] + Double(load.rowsWaiting[index]) / backlogSeconds)
        }
        do throws(LeaseStoreError) {
            _ = try await run(ReportLoadScript(name: name, epoch: epoch, loads: loads))
        } catch {
            Self.logger.warning("a load report was not stored", metadata: ["pool": "\(pool)", "name": "\(name)", "error": "\(error)"])
        }
    }

    private func validate(_ request: HeartbeatRequest) throws(LeaseRefusal) {
        guard request.instance.isValid else { throw .invalid(.invalidInstance, InstanceID.rule) }
        let partitionCount = settings.partitionCount
        if let held = request.held {
            guard held.count <= partitionCount, held.allSatisfy({ (0..<partitionCount).contains($0.rawValue) }) else {
                throw .invalid(.invalidHeld, "held must list partitions in 0..<\(partitionCount)")
            }
        }
        if let sequence = request.sequence, !(1...(1 << 53)).contains(sequence) {
            throw .invalid(.invalidSequence, "sequence must be in 1...2^53")
        }
        if let heldEpochs = request.heldEpochs, heldEpochs.count != request.held?.count {
            throw .invalid(.invalidHeld, "heldEpochs must give one epoch per partition in held")
        }
        if let generation = request.generation, !generation.isWellFormed {
            throw .invalid(.invalidGeneration, "generation must be what a heartbeat answered")
        }
        if let number = request.number, number.rawValue >= settings.maxWorkers {
            throw .invalid(.invalidNumber, "number must be in 0..<\(settings.maxWorkers)")
        }
        if let load = request.load {
            let count = load.partitions.count
            guard load.rowsWaiting.count == count, load.rowsPerSecond.count == count else {
                throw .invalid(.invalidLoad, "load must give rowsWaiting and rowsPerSecond for each of its partitions")
            }
            guard count <= partitionCount, Set(load.partitions).count == count,
                load.partitions.allSatisfy({ (0..<partitionCount).contains($0.rawValue) })
            else {
                throw .invalid(.invalidLoad, "load must list distinct partitions in 0..<\(partitionCount)")
            }
            guard load.rowsWaiting.allSatisfy({ $0 >= 0 }), load.rowsPerSecond.allSatisfy({ $0.isFinite && $0 >= 0 && $0 < 1e15 }) else {
                throw .invalid(.invalidLoad, "load must give rowsWaiting and rowsPerSecond as non-negative numbers (rates under 10^15)")
            }
        }
    }

    private static func name(_ raw: String?) throws(LeaseRefusal) -> WorkerName {
        guard let raw, let name = WorkerName(rawValue: raw) else { throw .invalid(.invalidName, WorkerName.rule) }
        return name
    }
}
