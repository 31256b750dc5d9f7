import Coordination

/// What a claim did: `claimed` may be processed; `fenced` belong to a newer grant and must not be.
struct ClaimResult: Sendable, Equatable {
    var claimed: [PartitionGrant]
    var fenced: [PartitionGrant]
}
