import Coordination
import RedisAdapter

/// `heartbeat` (lua/heartbeat.lua): renews or leases the number of a name, then settles the worker's
/// partition grants against the published layout. Not idempotent.
struct HeartbeatScript: LeaseScript {
    var name: WorkerName
    var instance: InstanceID
    /// The request's sequence number; nil from clients that send none (no late-request protection).
    var sequence: Int64?
    var held: [Partition]
    /// The grant epochs of `held`, in the same order, when the worker sent them.
    var heldEpochs: [Epoch]?
    /// The lease the worker believes safe: re-adopted when the store lost it.
    var claim: (number: WorkerNumber, epoch: Epoch)?
    /// What the lease is for; fixed when it is made.
    var kind: LeaseKind
    var settings: LeaseSettings
    /// How much longer than a lease TTL lost state is waited out: the store's primary lease with
    /// Sentinels (`LeaseStore.recoveryMargin`).
    var recoveryMargin: Duration

    init(
        name: WorkerName, instance: InstanceID, sequence: Int64? = nil, held: [Partition], heldEpochs: [Epoch]? = nil,
        claim: (number: WorkerNumber, epoch: Epoch)? = nil,
        kind: LeaseKind = .member, settings: LeaseSettings, recoveryMargin: Duration = .zero
    ) {
        self.name = name
        self.instance = instance
        self.sequence = sequence
        self.held = held
        self.heldEpochs = heldEpochs
        self.claim = claim
        self.kind = kind
        self.settings = settings
        self.recoveryMargin = recoveryMargin
    }

    /// ARGV, in this order (scripts/load-heartbeat-script blanks `sequence`, the 8th, by position).
    enum Argument: String, ScriptName {
        case name, instance, held, leaseTTLMs, quarantineMs, maxWorkers, groupStem, sequence, claimNumber, claimEpoch, kind, recoveryMs
    }

    func argument(_ argument: Argument) -> String {
        switch argument {
        case .name: name.rawValue
        case .instance: instance.rawValue
        case .held:
            if let heldEpochs, heldEpochs.count == held.count {
                zip(held, heldEpochs).map { "\($0.rawValue):\($1.rawValue)" }.joined(separator: ",")
            } else {
                held.map(\.description).joined(separator: ",")
            }
        case .leaseTTLMs: String(settings.leaseTTL.wholeMilliseconds)
        case .quarantineMs: String(settings.numberQuarantine.wholeMilliseconds)
        case .maxWorkers: String(settings.maxWorkers)
        case .groupStem: ConsumerGroup.stem(prefix: settings.consumerGroupPrefix)
        case .sequence: sequence.map(String.init) ?? ""
        case .claimNumber: claim.map { String($0.number.rawValue) } ?? ""
        case .claimEpoch: claim.map { String($0.epoch.rawValue) } ?? ""
        case .kind: kind.rawValue
        case .recoveryMs: String(settings.recoveryWait(margin: recoveryMargin).wholeMilliseconds)
        }
    }

    enum Field: String, ScriptName {
        case outcome, expired, retryAfterMs, number, epoch, grants, revoked, layoutVersion, newLease, adopted, generation, kind
    }

    /// What the heartbeat did.
    struct Reply: Sendable, Equatable {
        var outcome: Outcome
        /// Leases found expired (and released) on the way.
        var expired: Int

        enum Outcome: Sendable, Equatable {
            /// The name holds a lease: renewed, or new when `newLease`.
            case leased(Leased)
            /// Another live instance holds the name; it may be free after `retryAfterMillis`.
            case conflict(retryAfterMillis: Int64)
            /// No number is grantable; one may be after `retryAfterMillis`.
            case exhausted(retryAfterMillis: Int64)
            /// The store lost state and waits it out: no new number (or the claimed one is not free) before
            /// `retryAfterMillis`. A worker that believed it held a lease must stop at once.
            case recovering(retryAfterMillis: Int64)
            /// The request is not newer than one already applied for this instance: nothing changed.
            case stale
            /// The lease is of the other kind (worker or number-only): nothing changed.
            case kindMismatch
        }

        /// The lease after this heartbeat and the partitions it may process (`grants`) or must stop (`revoked`).
        struct Leased: Sendable, Equatable {
            var number: WorkerNumber
            var epoch: Epoch
            var newLease: Bool
            /// The store had lost this lease and took the worker's claim back (same number and epoch).
            var adopted: Bool
            var grants: [PartitionGrant]
            var revoked: [Partition]
            var layoutVersion: Int64
            /// The store generation, for the worker to report back.
            var generation: Generation
            var kind: LeaseKind
        }
    }

    /// The values of the reply's `outcome` field.
    enum OutcomeName: String {
        case leased, conflict, exhausted, recovering, stale, kindMismatch

        /// The fields the outcome answers besides `outcome` and `expired`.
        var fields: FieldSet<Field> {
            switch self {
            case .leased: [.number, .epoch, .grants, .revoked, .layoutVersion, .newLease, .adopted, .generation, .kind]
            case .conflict, .exhausted, .recovering: [.retryAfterMs]
            case .stale, .kindMismatch: []
            }
        }
    }

    static func reply(_ fields: ScriptReply<Field>) -> Reply? {
        guard let kind = fields.string(.outcome).flatMap(OutcomeName.init(rawValue:)),
            fields.fields == kind.fields.union([.outcome, .expired]), let expired = fields.count(.expired)
        else { return nil }
        let outcome: Reply.Outcome
        switch kind {
        case .leased:
            guard let number = fields.integer(.number).flatMap({ WorkerNumber(rawValue: Int($0)) }),
                let epoch = fields.string(.epoch).flatMap({ Int64($0) }), epoch >= 0,
                let grants = fields.string(.grants).flatMap({ try? ReplyList.grants($0) }),
                let revoked = fields.string(.revoked).flatMap({ try? ReplyList.partitions($0) }),
                let layoutVersion = fields.integer(.layoutVersion), let newLease = fields.flag(.newLease),
                let adopted = fields.flag(.adopted), let generation = fields.string(.generation).map(Generation.init(rawValue:)),
                let leaseKind = fields.string(.kind).flatMap(LeaseKind.init(rawValue:))
            else { return nil }
            outcome = .leased(
                Reply.Leased(
                    number: number, epoch: Epoch(rawValue: epoch), newLease: newLease, adopted: adopted, grants: grants,
                    revoked: revoked, layoutVersion: layoutVersion, generation: generation, kind: leaseKind))
        case .conflict:
            guard let millis = retryAfter(fields) else { return nil }
            outcome = .conflict(retryAfterMillis: millis)
        case .exhausted:
            guard let millis = retryAfter(fields) else { return nil }
            outcome = .exhausted(retryAfterMillis: millis)
        case .recovering:
            guard let millis = retryAfter(fields) else { return nil }
            outcome = .recovering(retryAfterMillis: millis)
        case .stale: outcome = .stale
        case .kindMismatch: outcome = .kindMismatch
        }
        return Reply(outcome: outcome, expired: Int(expired))
    }

    /// `retryAfterMs`: a non-negative decimal string.
    private static func retryAfter(_ fields: ScriptReply<Field>) -> Int64? {
        fields.string(.retryAfterMs).flatMap { Int64($0) }.flatMap { $0 >= 0 ? $0 : nil }
    }

    static let name = "heartbeat"
    static let script = load(LuaSource.heartbeat, idempotent: false)
}
