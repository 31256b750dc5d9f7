/// What a lease is for: a member of the layout is granted partitions; a number-only lease (`GET
/// /{name}`, or a heartbeat that asks for it) gets a number, an epoch and a consumer group and nothing
/// else. Fixed for the life of a lease. Any process holding a lease of either kind is a worker; on the
/// wire and in Redis a member's kind is spelled `worker`, as it was before number-only leases existed.
public enum LeaseKind: String, Codable, Hashable, Sendable, CaseIterable {
    /// A member of the layout: granted partitions (`"worker"` on the wire).
    case member = "worker"
    case numberOnly
}
