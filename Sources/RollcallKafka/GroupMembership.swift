import Coordination
import RollcallClient

/// When a lease-bound consumer may sit in its number's consumer group: a state machine with no I/O.
///
/// The group (`inbox-3`) belongs to whoever holds number 3 now, so a consumer is in it only while its
/// lease is safe, and leaves it (commit, close) while the lease is still safe: before `safeFor` falls
/// under `leaveMargin`, on a lost lease, on another number or epoch, and on drain. A broker cannot be
/// relied on to fence an older member (Tansu ignores `group.instance.id`), so the lease is the fence:
/// two holders of one number are never in its group at once because the old one leaves before its
/// lease could have ended, and the new one's lease starts only after that.
///
/// Each observation of the client's `status()` returns one action for the I/O side to perform
/// (`LeaseBoundConsumer`), which reports back `joined()` and `left()`. One join or leave is in flight at
/// a time; a join is never started while a leave is.
public struct GroupMembership: Sendable, Hashable {
    /// One membership: the group of a number under one lease epoch.
    public struct Membership: Sendable, Hashable {
        /// The lease's consumer group (`<prefix>-<number>`).
        public var group: String
        /// `group.instance.id` (static membership): the group's name, so a broker that fences by it
        /// fences the previous holder of the number too.
        public var instanceID: String
        public var number: WorkerNumber
        public var epoch: Epoch

        public init(group: String, instanceID: String, number: WorkerNumber, epoch: Epoch) {
            self.group = group
            self.instanceID = instanceID
            self.number = number
            self.epoch = epoch
        }
    }

    public enum State: Sendable, Hashable {
        case out
        case joining(Membership)
        case member(Membership)
        case leaving(Membership)
    }

    public enum Action: Sendable, Hashable {
        /// Create the consumer in this group and subscribe; report `joined()` (or `left()` if it failed).
        case join(Membership)
        /// Commit what was consumed, close the consumer; report `left()`.
        case leave(Membership)
        case none
    }

    /// How long a leave (commit and close) may take: the consumer leaves when its lease is safe for less.
    public var leaveMargin: Duration
    /// It joins only when its lease is safe for at least this much more than `leaveMargin`, so a join
    /// is not started just to leave again.
    public var joinMargin: Duration
    public private(set) var state = State.out
    /// Set by `drain()`: it leaves and never joins again.
    public private(set) var draining = false

    public init(leaveMargin: Duration, joinMargin: Duration) {
        self.leaveMargin = leaveMargin
        self.joinMargin = joinMargin
    }

    /// What to do given the client's `status()` now (nil: no safe lease).
    public mutating func observe(_ status: LeaseStatus?) -> Action {
        observe(status.map { (lease: $0.lease, safeFor: $0.safeFor) })
    }

    /// What to do given the safe lease now and how long it stays safe without a renewal.
    public mutating func observe(_ status: (lease: Lease, safeFor: Duration)?) -> Action {
        switch state {
        case .joining, .leaving:
            return .none
        case .member(let membership):
            guard let status, Self.membership(of: status.lease) == membership, status.safeFor >= leaveMargin, !draining else {
                state = .leaving(membership)
                return .leave(membership)
            }
            return .none
        case .out:
            guard !draining, let status, status.safeFor >= leaveMargin + joinMargin else { return .none }
            let membership = Self.membership(of: status.lease)
            state = .joining(membership)
            return .join(membership)
        }
    }

    /// The join in flight completed: the consumer is in its group.
    public mutating func joined() {
        guard case .joining(let membership) = state else { return }
        state = .member(membership)
    }

    /// The leave in flight (or a join that failed) completed: the consumer is in no group.
    public mutating func left() {
        switch state {
        case .leaving, .joining: state = .out
        case .out, .member: break
        }
    }

    /// Stop for good (SIGTERM): leave now if in a group.
    public mutating func drain() -> Action {
        draining = true
        guard case .member(let membership) = state else { return .none }
        state = .leaving(membership)
        return .leave(membership)
    }

    /// Leave now for a reason the I/O side found (a batch not recorded, a newer holder); unlike `drain()`
    /// it may join again later.
    public mutating func leaveNow() -> Action {
        guard case .member(let membership) = state else { return .none }
        state = .leaving(membership)
        return .leave(membership)
    }

    /// Whether a record polled now may be handed on: only while a member under a safe lease.
    public var mayConsume: Bool {
        if case .member = state { return !draining }
        return false
    }

    static func membership(of lease: Lease) -> Membership {
        Membership(group: lease.consumerGroup, instanceID: lease.consumerGroup, number: lease.number, epoch: lease.epoch)
    }
}
