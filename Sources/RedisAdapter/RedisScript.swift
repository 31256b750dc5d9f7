import Synchronization

/// A Lua script run with EVALSHA. Its SHA1 is learned from SCRIPT LOAD (so no hashing library is
/// needed) and loaded again after NOSCRIPT, as after SCRIPT FLUSH or a failover.
public final class RedisScript: Sendable {
    /// The Lua source.
    public let source: String
    /// Whether running it twice has the effect of running it once. Only such a script is sent again
    /// after its connection broke mid-call, when the first attempt may or may not have run.
    public let isIdempotent: Bool
    let sha = Mutex<String?>(nil)

    public init(_ source: String, idempotent: Bool) {
        self.source = source
        self.isIdempotent = idempotent
    }
}
