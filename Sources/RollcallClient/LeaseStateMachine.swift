import Coordination

/// The client's lease logic as a pure state machine: heartbeat results and the clock go in, lease events
/// and the next wake-up time come out. `RollcallClient` performs the I/O; tests drive this with a manual clock.
public struct LeaseStateMachine<C: Clock>: Sendable where C.Duration == Duration, C.Instant: Sendable {
    public let name: WorkerName
    /// This process's instance id; a new random one once another process is found using it.
    public private(set) var instance: InstanceID
    public let driftAllowance: Double
    public let backoff: Backoff
    /// What the lease is for, sent with every heartbeat.
    public let kind: LeaseKind

    /// The lease while it is safe; nil before the first grant and after a loss.
    public private(set) var lease: Lease?
    public private(set) var deadline: LeaseDeadline<C>?
    /// Granted partitions and their grant epochs; the heartbeat reports exactly these as held.
    public private(set) var grants: [Partition: Epoch] = [:]
    /// When the next heartbeat is due.
    public private(set) var nextHeartbeat: C.Instant
    /// The number and epoch last granted, claimed by every heartbeat sent while the lease is safe.
    private var believed: (number: WorkerNumber, epoch: Epoch)?
    /// The sequence number of the last request; every request takes the next one.
    public private(set) var sequence: Int64 = 0
    /// The lease store's generation from the last answer, reported back.
    public private(set) var generation: Generation?
    /// The last 4xx the control plane refused a heartbeat with, until a heartbeat succeeds again.
    public private(set) var lastRefusal: HeartbeatRefusal?
    /// A load report waiting for the next heartbeat (`report(load:)`).
    public private(set) var pendingLoad: PartitionLoadReport?
    private var everLeased = false
    private var failures = 0
    /// Answers `stale` in a row, since the last success.
    private var staleInARow = 0
    private var isReleased = false

    public init(
        name: WorkerName, instance: InstanceID, driftAllowance: Double = 0.1, backoff: Backoff = Backoff(), kind: LeaseKind = .member,
        now: C.Instant
    ) {
        self.name = name
        self.instance = instance
        self.kind = kind
        self.driftAllowance = driftAllowance
        self.backoff = backoff
        nextHeartbeat = now
    }

    /// Whether a lease was ever granted to this process (and so may need releasing).
    public var hasLeased: Bool { everLeased }

    /// The body of the next heartbeat, sent at `now`. Each call takes the next sequence number, so a
    /// copy of an older request that arrives late is refused and changes nothing. The number, epoch and
    /// grant epochs are claimed only while the lease is safe: they are what the worker believes it holds,
    /// and a store that lost its state gives them back only to a worker that still relies on them.
    /// A load report, if one is waiting, rides along once.
    public mutating func nextRequest(at now: C.Instant) -> HeartbeatRequest {
        sequence += 1
        let claim = safeLease(at: now) != nil ? believed : nil
        let held = grants.keys.sorted()
        defer { pendingLoad = nil }
        return HeartbeatRequest(
            instance: instance, sequence: sequence, held: held, heldEpochs: claim == nil ? nil : held.map { grants[$0]! },
            number: claim?.number, epoch: claim?.epoch, generation: generation, kind: kind, load: pendingLoad)
    }

    /// Sends `load` with the next heartbeat (replacing a report not sent yet). A pool balanced by load
    /// uses it; one balanced by count ignores it. A heartbeat that fails loses it: the next report, a
    /// few seconds on, is newer anyway.
    public mutating func report(load: PartitionLoadReport) { pendingLoad = load }

    /// The lease if it may be relied on at `now`.
    public func safeLease(at now: C.Instant) -> Lease? {
        guard let lease, let deadline, deadline.isSafe(at: now) else { return nil }
        return lease
    }

    /// When the I/O loop should next call `expire(at:)` or send a heartbeat.
    public var wakeTime: C.Instant {
        guard let deadline, lease != nil else { return nextHeartbeat }
        return min(nextHeartbeat, deadline.safeUntil)
    }

    /// Ends the lease if its safe time has passed at `now`.
    public mutating func expire(at now: C.Instant) -> [LeaseEvent] {
        guard lease != nil, let deadline, !deadline.isSafe(at: now) else { return [] }
        return lose(.expired)
    }

    /// A grant arrived for the heartbeat sent at `sentAt`.
    public mutating func succeeded(_ response: HeartbeatResponse, sentAt: C.Instant, now: C.Instant) throws(HeartbeatFailure)
        -> [LeaseEvent]
    {
        guard !isReleased else { return [] }
        guard response.name == name.rawValue, response.instance == instance else {
            throw .transport("the control plane answered for \(response.name)/\(response.instance)")
        }
        guard let epochs = response.partitionEpochs, epochs.count == response.partitions.count else {
            throw .transport("the control plane sent no partitionEpochs; it is older than this client")
        }
        var events: [LeaseEvent] = []
        let granted = Lease(response)
        if let current = lease, !current.isSameLease(as: granted) { events += lose(.replaced) }
        if lease == nil { events.append(everLeased ? .leaseRegained(granted) : .leaseAcquired(granted)) }
        everLeased = true
        lease = granted
        believed = (granted.number, granted.epoch)
        generation = response.generation ?? generation
        let renewed = LeaseDeadline<C>(sentAt: sentAt, leaseTTL: granted.leaseTTL, driftAllowance: driftAllowance)
        if deadline.map({ renewed.safeUntil > $0.safeUntil }) ?? true { deadline = renewed }

        let current = Dictionary(zip(response.partitions, epochs), uniquingKeysWith: max)
        let revoked = grants.filter { current[$0.key] != $0.value }.map(\.key).sorted()
        let added = current.filter { grants[$0.key] != $0.value }.map { PartitionGrant(partition: $0.key, epoch: $0.value) }.sorted()
        grants = current
        if !revoked.isEmpty { events.append(.revoked(revoked)) }
        if !added.isEmpty { events.append(.granted(added)) }

        failures = 0
        staleInARow = 0
        lastRefusal = nil
        // A revocation is acknowledged by the next heartbeat: send it now, so the handoff waits for no interval.
        nextHeartbeat = revoked.isEmpty ? sentAt.advanced(by: granted.heartbeatInterval) : now
        return events
    }

    /// The heartbeat failed at `now`: schedules a retry with backoff and jitter.
    public mutating func failed(_ failure: HeartbeatFailure, now: C.Instant, using random: inout some RandomNumberGenerator)
        -> [LeaseEvent]
    {
        var events: [LeaseEvent] = []
        var floor = Duration.zero
        switch failure {
        case .conflict(let retryAfter):
            // Someone else holds our name: whatever we believed we held is not ours.
            if lease != nil { events = lose(.conflict) }
            believed = nil
            floor = retryAfter ?? .zero
        case .unavailable(let retryAfter, _):
            floor = min(retryAfter ?? .zero, lease?.heartbeatInterval ?? .seconds(1))
        case .throttled(let retryAfter):
            // Over the rate limit: another request now is refused too and only adds to the load. Wait what
            // the control plane says (at least a second), even past the heartbeat interval.
            floor = retryAfter ?? .seconds(1)
        case .recovering(let retryAfter):
            // The store lost state and could not give this lease back: it is not ours any more, whatever
            // our clock says. Stop now rather than at the deadline.
            if lease != nil { events = lose(.unknownToStore) }
            floor = min(retryAfter ?? .zero, backoff.cap)
        case .stale:
            // Requests go one at a time, so a stale answer to this one means a request with this instance
            // and a higher sequence was applied that this process did not send after it: a copy of this one
            // (a proxy that sent it twice; nothing changed), or another process using this instance id
            // (read from GET /v1/workers, say). The second in a row is the impostor: what it renewed or
            // acknowledged in this instance's name is not ours, and its sequence (up to 2^53) would keep
            // this instance's requests stale for as long as the store remembers it. Start over as a new
            // instance; the old one's lease, if any, is a conflict until it lapses.
            staleInARow += 1
            if staleInARow >= 2 {
                staleInARow = 0
                if lease != nil { events = lose(.conflict) }
                believed = nil
                instance = RollcallClientConfiguration.randomInstance(using: &random)
            }
        case .refused(let status, let message):
            // A 4xx will be refused again unless the request changes, and the only part of it that is not
            // this process's own identity is the number hint (stale after MAX_WORKERS was lowered, say):
            // drop it, and keep the refusal where /v1/status and the log show it.
            if (400..<500).contains(status) {
                believed = nil
                lastRefusal = HeartbeatRefusal(status: status, message: message)
            }
        case .transport:
            break
        }
        let cap = lease?.heartbeatInterval ?? backoff.cap
        let delay = Backoff(base: backoff.base, cap: cap).delay(attempt: failures, floor: floor, using: &random)
        failures += 1
        nextHeartbeat = now.advanced(by: delay)
        return events + expire(at: now)
    }

    /// The lease was released (or is being released): nothing is safe from now on.
    public mutating func released() -> [LeaseEvent] {
        isReleased = true
        return lease == nil ? [] : lose(.released)
    }

    private mutating func lose(_ reason: LeaseLossReason) -> [LeaseEvent] {
        lease = nil
        deadline = nil
        grants = [:]
        return [.leaseLost(reason)]
    }
}
