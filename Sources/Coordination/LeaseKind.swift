/// What a lease is for: a partition worker is a member of the layout and is granted partitions; a
/// number-only lease (`GET /{name}`, or a heartbeat that asks for it) gets a number, an epoch and a
/// consumer group and nothing else. Fixed for the life of a lease.
public enum LeaseKind: String, Codable, Hashable, Sendable, CaseIterable {
    case worker
    case numberOnly
}
