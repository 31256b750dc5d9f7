import Coordination

/// A safe lease, its grants, and how long it stays safe without a renewal.
public struct LeaseStatus: Hashable, Sendable {
    public var lease: Lease
    public var grants: [PartitionGrant]
    public var safeFor: Duration
}
