/// What one heartbeat did to the lease store: a sealed result the HTTP layer must map.
enum HeartbeatOutcome: Sendable, Equatable {
    /// The name holds `number`; `granted` may be processed now, `revoked` must stop now.
    case granted(Grant)
    /// Another live instance holds the name; it may be free after `retryAfterMillis`.
    case conflict(retryAfterMillis: Int64)
    /// No number is grantable; one may be after `retryAfterMillis`.
    case exhausted(retryAfterMillis: Int64)

    struct Grant: Sendable, Equatable {
        var number: Int
        var epoch: Int64
        var expiresAtMillis: Int64
        var granted: [Int]
        /// The fencing epoch of each grant, in the order of `granted`.
        var grantEpochs: [Int64]
        var revoked: [Int]
        var assignmentVersion: Int64
    }
}

/// What a release did.
enum ReleaseOutcome: Sendable, Equatable {
    case released
    /// The name is held by another instance: nothing was changed.
    case conflict
    /// No live lease has that name.
    case unknown
}
