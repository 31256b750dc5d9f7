import Coordination
import HashRing
import NIOCore
import RedisAdapter
import ServerSupport

/// Every lease operation of the control plane, as the HTTP routes, the reaper and the rebalancer use
/// them: validation against the settings, the lease store call, the answer, and the metrics. It is the
/// one place that records the control plane's metrics and the one caller of `LeaseStore`.
struct LeaseService: Sendable {
    let store: LeaseStore
    let settings: LeaseSettings
    let metrics: ControlPlaneMetrics
    let generation = StoreGeneration()

    /// The instance `GET /{name}` leases under, so repeated GETs renew one lease (podnum's behaviour).
    static let shortcutInstance = "get-shortcut"

    /// `POST /v1/workers/{name}/heartbeat`: `body` decodes the request; a refusal is an `APIError`.
    func heartbeat(rawName: String?, body: () async throws -> HeartbeatRequest) async throws -> HeartbeatResponse {
        let name: WorkerName
        let request: HeartbeatRequest
        do {
            name = try Self.name(rawName)
            request = try await body()
            try validate(request)
        } catch {
            metrics.heartbeat(.invalid)
            throw error
        }
        let reply: HeartbeatScript.Reply
        do {
            reply = try await run(
                HeartbeatScript(
                    name: name, instance: request.instance, sequence: request.sequence, held: request.held ?? [],
                    heldEpochs: request.heldEpochs, claim: request.number.flatMap { number in request.epoch.map { (number, $0) } },
                    kind: request.kind ?? .worker,
                    settings: settings))
        } catch {
            let failure = Self.storeFailure(error)
            metrics.heartbeat(failure.code == Self.notReplicatedCode ? .unreplicated : .unavailable)
            throw failure
        }
        record(reply)
        switch reply.outcome {
        case .leased(let lease):
            metrics.heartbeat(.granted)
            return HeartbeatResponse(
                name: name.rawValue, instance: request.instance, number: lease.number, epoch: lease.epoch,
                leaseTTLMillis: settings.leaseTTL.wholeMilliseconds, heartbeatIntervalMillis: settings.heartbeatInterval.wholeMilliseconds,
                layoutVersion: lease.layoutVersion, partitions: lease.grants.map(\.partition), partitionEpochs: lease.grants.map(\.epoch),
                revoked: lease.revoked, consumerGroup: lease.consumerGroup, partitionCount: settings.partitionCount,
                generation: lease.generation, kind: lease.kind)
        case .stale:
            metrics.heartbeat(.stale)
            throw APIError(
                status: .conflict, code: "stale_request",
                message: "a newer heartbeat of instance \(request.instance) was already applied; this one changed nothing")
        case .recovering(let retryAfter):
            metrics.heartbeat(.recovering)
            throw Self.recovering(retryAfter)
        case .kindMismatch:
            metrics.heartbeat(.conflict)
            throw APIError(
                status: .conflict, code: "kind_mismatch",
                message: "\(name)'s lease is not of kind \((request.kind ?? .worker).rawValue); a lease keeps its kind")
        case .conflict(let retryAfter):
            metrics.heartbeat(.conflict)
            throw APIError(
                status: .conflict, code: "conflict", message: "\(name) is held by another live instance", retryAfterMillis: retryAfter)
        case .exhausted(let retryAfter):
            metrics.heartbeat(.exhausted)
            throw Self.exhausted(settings.maxWorkers, retryAfter)
        }
    }

    /// `GET /{name}`: the name's number, leasing one if the name has none (podnum-compatible).
    func number(rawName: String?) async throws -> WorkerNumber {
        let name = try Self.name(rawName)
        let reply = try await storeCall {
            try await run(
                HeartbeatScript(
                    name: name, instance: Self.shortcutInstance, held: [], kind: .numberOnly,
                    settings: settings))
        }
        record(reply)
        switch reply.outcome {
        case .leased(let lease):
            return lease.number
        case .conflict:
            // A real worker holds the name: report its number without touching its lease.
            guard let live = try await workers().first(where: { $0.name == name.rawValue }) else {
                throw APIError(status: .conflict, code: "conflict", message: "\(name) is changing hands; retry")
            }
            return live.number
        case .exhausted(let retryAfter):
            throw Self.exhausted(settings.maxWorkers, retryAfter)
        case .recovering(let retryAfter):
            throw Self.recovering(retryAfter)
        case .stale, .kindMismatch:
            // The shortcut sends no sequence, so the store never finds it stale; a live lease of the name
            // held by the shortcut instance is number-only. Neither happens; answer as for a changing name.
            throw APIError(status: .conflict, code: "conflict", message: "\(name) is changing hands; retry")
        }
    }

    /// `DELETE /v1/workers/{name}?instance=`: frees the number and partitions at once.
    func release(rawName: String?, instance: String?) async throws {
        let name = try Self.name(rawName)
        guard let instance, InstanceID.isValid(instance) else {
            throw APIError.badRequest("invalid_instance", "?instance= is required: \(InstanceID.rule)")
        }
        switch try await storeCall({ try await run(ReleaseScript(name: name, instance: instance, settings: settings)) }).kind {
        case .released:
            metrics.leasesReleased.increment()
        case .conflict:
            throw APIError(status: .conflict, code: "conflict", message: "\(name) is held by another instance")
        case .unknown:
            throw APIError(status: .notFound, code: "not_found", message: "no live worker is named \(name)")
        }
    }

    /// `GET /v1/workers`.
    func workers() async throws -> [WorkerSummary] {
        try await storeCall { try await timed { () async throws(LeaseStoreError) in try await store.workers() } }
    }

    /// `GET /v1/layout`.
    func layout() async throws -> LayoutSnapshot {
        try await storeCall { try await timed { () async throws(LeaseStoreError) in try await store.layout() } }
    }

    /// `GET /v1/overview`: the status page's data, with the lease store's health as this replica sees it.
    func overview() async throws -> Overview {
        let start = ContinuousClock.now
        let reply = try await storeCall { try await timed { () async throws(LeaseStoreError) in try await store.overview(eventCount: 50) } }
        let latency = ContinuousClock.now - start
        let replication = try await storeCall { try await timed { () async throws(LeaseStoreError) in try await store.replicationStatus() } }
        return Overview(
            reply, settings: settings,
            redis: .init(
                primary: replication.primary, connectedReplicas: replication.connectedReplicas,
                minReplicas: store.redis.configuration.minReplicas, latencyMillis: Double(latency.nanoseconds) / 1e6,
                generation: reply.generation, recoveryMillisLeft: max(reply.recoveryUntilMillis - reply.nowMillis, 0)))
    }

    /// `GET /readyz`: whether Redis answers as a primary with at least REDIS_MIN_REPLICAS replicas connected.
    func checkReady() async throws -> ReadinessReport {
        let status: RedisReplicationStatus
        do {
            status = try await timed { () async throws(LeaseStoreError) in try await store.replicationStatus() }
        } catch {
            throw APIError.unavailable("Redis is unreachable: \(error)")
        }
        metrics.replicasConnected.record(status.connectedReplicas)
        let required = store.redis.configuration.minReplicas
        guard status.connectedReplicas >= required else {
            throw Self.notReplicated(
                "the Redis primary \(status.primary) has \(status.connectedReplicas) replicas connected; REDIS_MIN_REPLICAS is \(required)")
        }
        return ReadinessReport(
            status: "ready", redis: .init(primary: status.primary, connectedReplicas: status.connectedReplicas, minReplicas: required))
    }

    /// The reaper's round: releases expired leases; returns how many.
    func reap() async throws(LeaseStoreError) -> Int {
        let reply = try await run(ReapScript(settings: settings))
        observe(reply.generation)
        metrics.leasesExpired.increment(by: reply.expired)
        metrics.liveWorkers.record(reply.live)
        metrics.numberOnlyLeases.record(reply.numberOnly)
        return reply.expired
    }

    /// Takes or renews the rebalancer's leader lease for `token`; true while this replica leads.
    func lead(token: String, lease: Duration) async throws(LeaseStoreError) -> Bool {
        try await run(LeadScript(token: token, lease: lease)).leads
    }

    /// The membership version and the numbers leased at that version.
    func members() async throws(LeaseStoreError) -> MembersScript.Reply { try await run(MembersScript()) }

    /// Publishes `layout` for `membership` if `token` still leads; `previous` is what it replaces, for the movement count.
    func publish(_ layout: Layout, membership: Int64, token: String, replacing previous: [Int?]) async throws(LeaseStoreError)
        -> PublishScript.Reply
    {
        let moved = LayoutDiff(from: previous, to: layout.owners).movedCount
        let reply = try await run(PublishScript(layout: layout, membership: membership, token: token, moved: moved))
        if reply.kind == .published, let version = reply.version {
            metrics.partitionsMoved.increment(by: moved)
            metrics.layoutVersion.record(version)
        }
        return reply
    }

    /// The owners of the published layout, as the rebalancer counts movement from them.
    func publishedOwners() async throws(LeaseStoreError) -> [Int?] {
        try await timed { () async throws(LeaseStoreError) in try await store.layout() }.owners.map { $0?.rawValue }
    }

    /// Records how many partitions are granted to a number other than their owner in `owners`, or to none
    /// (handoffs pending), and how many are granted to nobody (unowned).
    func recordPendingHandoffs(owners: [Int?]) async throws(LeaseStoreError) {
        let grants = try await timed { () async throws(LeaseStoreError) in try await store.grants() }
        let pending = owners.enumerated().filter { partition, owner in owner != nil && grants[partition]?.rawValue != owner }.count
        metrics.handoffsPending.record(pending)
        metrics.partitionsUnowned.record(owners.indices.filter { grants[$0] == nil }.count)
    }

    /// The metrics every heartbeat script run reports, from either route.
    private func record(_ reply: HeartbeatScript.Reply) {
        if reply.expired > 0 { metrics.leasesExpired.increment(by: reply.expired) }
        guard case .leased(let lease) = reply.outcome else { return }
        if lease.newLease { metrics.leasesGranted.increment() }
        if lease.adopted { metrics.leasesAdopted.increment() }
        observe(lease.generation)
    }

    /// Remembers the store generation; a change means the store lost or may have lost writes.
    private func observe(_ current: String) {
        if generation.observe(current) { metrics.storeGenerations.increment() }
    }

    private func run<Script: LeaseScript>(_ script: Script) async throws(LeaseStoreError) -> Script.Reply {
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

    /// Runs a lease-store call for a route; a store failure becomes 503 with Retry-After.
    private func storeCall<T>(_ body: () async throws -> T) async throws(APIError) -> T {
        do {
            return try await body()
        } catch let error as APIError {
            throw error
        } catch {
            throw Self.storeFailure(error)
        }
    }

    static let notReplicatedCode = "not_replicated"

    /// A lease-store failure as the caller sees it: 503 either way, `not_replicated` when the change ran on
    /// the primary but did not reach REDIS_MIN_REPLICAS replicas (the caller must not act on it).
    private static func storeFailure(_ error: any Error) -> APIError {
        if case .redis(.notReplicated(let acknowledged, let required)) = error as? LeaseStoreError {
            return notReplicated("the change reached \(acknowledged) of \(required) required Redis replicas in time; retry")
        }
        return APIError.unavailable("the lease store is unavailable: \(error)")
    }

    /// 503 `not_replicated`: Redis replication is short of REDIS_MIN_REPLICAS.
    private static func notReplicated(_ message: String) -> APIError {
        APIError(status: .serviceUnavailable, code: notReplicatedCode, message: message, retryAfterMillis: 1000)
    }

    private func validate(_ request: HeartbeatRequest) throws(APIError) {
        guard InstanceID.isValid(request.instance) else { throw APIError.badRequest("invalid_instance", InstanceID.rule) }
        let partitionCount = settings.partitionCount
        if let held = request.held {
            guard held.count <= partitionCount, held.allSatisfy({ (0..<partitionCount).contains($0) }) else {
                throw APIError.badRequest("invalid_held", "held must list partitions in 0..<\(partitionCount)")
            }
        }
        if let sequence = request.sequence, !(1...(1 << 53)).contains(sequence) {
            throw APIError.badRequest("invalid_sequence", "sequence must be in 1...2^53")
        }
        if let heldEpochs = request.heldEpochs, heldEpochs.count != request.held?.count {
            throw APIError.badRequest("invalid_held", "heldEpochs must give one epoch per partition in held")
        }
        if let generation = request.generation,
            !(1...128).contains(generation.utf8.count) || !generation.utf8.allSatisfy({ Self.generationBytes.contains($0) })
        {
            throw APIError.badRequest("invalid_generation", "generation must be what a heartbeat answered")
        }
        if let number = request.number, number.rawValue >= settings.maxWorkers {
            throw APIError.badRequest("invalid_number", "number must be in 0..<\(settings.maxWorkers)")
        }
    }

    /// A generation is `runID:microseconds`: hex digits and a colon.
    private static let generationBytes = Set("0123456789abcdef:".utf8)

    private static func name(_ raw: String?) throws(APIError) -> WorkerName {
        guard let raw, let name = WorkerName(rawValue: raw) else { throw APIError.badRequest("invalid_name", WorkerName.rule) }
        return name
    }

    private static func recovering(_ retryAfter: Int64) -> APIError {
        APIError(
            status: .serviceUnavailable, code: "recovering",
            message: "the lease store lost state; nothing a worker may still hold is handed out before the wait ends",
            retryAfterMillis: retryAfter)
    }

    private static func exhausted(_ maxWorkers: Int, _ retryAfter: Int64) -> APIError {
        APIError(
            status: .serviceUnavailable, code: "no_number_available", message: "all \(maxWorkers) numbers are leased or quarantined",
            retryAfterMillis: retryAfter)
    }
}
