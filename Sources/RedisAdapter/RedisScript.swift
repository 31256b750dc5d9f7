import Synchronization

/// A Lua script run with EVALSHA. Its SHA1 is learned from SCRIPT LOAD (so no hashing library is
/// needed) and loaded again after NOSCRIPT, as after SCRIPT FLUSH or a failover.
public final class RedisScript: Sendable {
    /// The Lua source.
    public let source: String
    let sha = Mutex<String?>(nil)

    public init(_ source: String) { self.source = source }
}
