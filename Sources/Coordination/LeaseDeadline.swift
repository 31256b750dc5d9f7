/// When a worker must stop trusting its lease, measured on its own monotonic clock.
///
/// The control plane's lease runs for `leaseTTL` from some moment after the worker sent its
/// heartbeat; the worker cannot know that moment, so it counts from `sentAt`, which is earlier,
/// and takes off `driftAllowance` for clock-rate differences. Past `safeUntil` the worker stops
/// processing and stops issuing ids until a new heartbeat renews the lease.
public struct LeaseDeadline<C: Clock>: Sendable where C.Instant: Sendable {
    /// When the heartbeat that granted or renewed the lease was sent.
    public let sentAt: C.Instant
    /// `sentAt + leaseTTL * (1 - driftAllowance)`.
    public let safeUntil: C.Instant

    /// A deadline for a lease of `leaseTTL` renewed by a heartbeat sent at `sentAt`;
    /// `driftAllowance` is clamped to `0...1`.
    public init(sentAt: C.Instant, leaseTTL: Duration, driftAllowance: Double) where C.Duration == Duration {
        self.sentAt = sentAt
        self.safeUntil = sentAt.advanced(by: leaseTTL.scaled(by: 1 - min(max(driftAllowance, 0), 1)))
    }

    /// Whether the lease may still be relied on at `now`.
    public func isSafe(at now: C.Instant) -> Bool { now < safeUntil }

    /// How long the lease may still be relied on at `now`; zero once it is unsafe.
    public func remaining(at now: C.Instant) -> C.Duration {
        isSafe(at: now) ? now.duration(to: safeUntil) : .zero
    }
}
