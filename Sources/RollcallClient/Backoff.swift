import Coordination

/// Exponential backoff with full jitter: the n-th retry waits a random time in `0...min(cap, base * 2^n)`,
/// so a fleet that lost the control plane at once does not come back in lockstep.
public struct Backoff: Sendable, Hashable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .milliseconds(50), cap: Duration = .seconds(1)) {
        self.base = base
        self.cap = max(cap, base)
    }

    /// The longest wait before retry `attempt` (0 for the first retry).
    public func ceiling(attempt: Int) -> Duration {
        let doublings = min(max(attempt, 0), 30)
        return min(cap, base * (1 << doublings))
    }

    /// A random wait in `0...ceiling(attempt:)`, never below `floor`.
    public func delay(attempt: Int, floor: Duration = .zero, using random: inout some RandomNumberGenerator) -> Duration {
        let ceiling = ceiling(attempt: attempt).nanoseconds
        let jittered = Duration.nanoseconds(ceiling > 0 ? Int64.random(in: 0...ceiling, using: &random) : 0)
        return max(jittered, floor)
    }
}
