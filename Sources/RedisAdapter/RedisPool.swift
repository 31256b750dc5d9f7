import BlockingPool

/// A small pool of hiredis connections, usable from async code; see `BlockingPool`.
/// A broken connection is dropped and made anew on next use.
public final class RedisPool: Sendable {
    /// Whether a call is sent again on a fresh connection after its connection broke mid-flight.
    /// Safe only for idempotent calls: the first attempt may have run on the server. Timeouts are
    /// never retried: the server may just be slow. There is no default: each caller says which.
    public enum RetryPolicy: Sendable {
        case retryOnceOnConnectionLoss
        case never
    }

    public let configuration: RedisConfiguration
    private let pool: BlockingPool<HiredisConnection, RedisError>
    private let locator: RedisPrimaryLocator

    /// `onPrimaryChange` hears of every primary the pool learns of: the first, and each after a failover.
    public init(
        configuration: RedisConfiguration, onPrimaryChange: @escaping @Sendable (_ old: String?, _ new: String) -> Void = { _, _ in }
    ) {
        self.configuration = configuration
        let locator = RedisPrimaryLocator(configuration: configuration, onChange: onPrimaryChange)
        self.locator = locator
        self.pool = BlockingPool(
            size: configuration.poolSize, closedError: .poolClosed,
            connect: { () throws(RedisError) in try locator.connect() },
            isBroken: { connection in connection.isBroken || !locator.isCurrent(connection) })
    }

    /// The primary's `host:port` as last learned (nil before the first connection).
    public var primary: String? { locator.primary }

    /// What the primary says of itself: its address, and how many replicas are connected to it (ROLE).
    /// Throws `notPrimary` if the node is not a primary.
    public func replicationStatus() async throws(RedisError) -> RedisReplicationStatus {
        try await perform(retry: .retryOnceOnConnectionLoss) { connection throws(RedisError) in
            RedisReplicationStatus(primary: connection.address, connectedReplicas: try connection.requirePrimary())
        }
    }

    /// Runs one command with string arguments.
    public func command(_ arguments: [String], retry: RetryPolicy) async throws(RedisError) -> RedisValue {
        try await command(bytes: arguments.map { Array($0.utf8) }, retry: retry)
    }

    /// Runs one command with binary arguments.
    public func command(bytes arguments: [[UInt8]], retry: RetryPolicy) async throws(RedisError) -> RedisValue {
        try await perform(retry: retry) { connection throws(RedisError) in try connection.command(arguments) }
    }

    /// Runs `script` with EVALSHA, loading it first if this server does not know it (yet, or any more).
    /// Sent again after a lost connection only if the script is idempotent. With `minReplicas` set, the
    /// reply is returned only once that many replicas have the script's writes (`WAIT` on the same
    /// connection); else the call fails with `notReplicated`.
    public func run(_ script: RedisScript, keys: [String], arguments: [String]) async throws(RedisError) -> RedisValue {
        let tail = ([String(keys.count)] + keys + arguments).map { Array($0.utf8) }
        let wait = Self.waitCommand(configuration)
        let required = configuration.minReplicas
        return try await perform(retry: script.isIdempotent ? .retryOnceOnConnectionLoss : .never) { connection throws(RedisError) in
            let reply = try Self.evaluate(script, tail: tail, on: connection)
            if let wait {
                let acknowledged = Int(try connection.command(wait).integer ?? 0)
                guard acknowledged >= required else { throw .notReplicated(acknowledged: acknowledged, required: required) }
            }
            return reply
        }
    }

    private static func evaluate(_ script: RedisScript, tail: [[UInt8]], on connection: HiredisConnection) throws(RedisError) -> RedisValue {
        for _ in 0..<2 {
            let sha: String
            if let known = script.sha.withLock({ $0 }) { sha = known } else { sha = try Self.load(script, on: connection) }
            do throws(RedisError) {
                return try connection.command([Array("EVALSHA".utf8), Array(sha.utf8)] + tail)
            } catch .reply(let message) where message.hasPrefix("NOSCRIPT") {
                script.sha.withLock { $0 = nil }
            }
        }
        throw .reply("NOSCRIPT twice in a row for a script just loaded")
    }

    /// `WAIT <minReplicas> <timeout ms>`, or nil when no replica is required.
    private static func waitCommand(_ configuration: RedisConfiguration) -> [[UInt8]]? {
        guard configuration.minReplicas > 0 else { return nil }
        let milliseconds = max(1, configuration.replicationTimeout.wholeMilliseconds)
        return ["WAIT", String(configuration.minReplicas), String(milliseconds)].map { Array($0.utf8) }
    }

    /// Closes every connection and stops the pool's threads; later calls throw `poolClosed`.
    public func shutdown() async {
        await locator.shutdown()
        await pool.shutdown()
    }

    private static func load(_ script: RedisScript, on connection: HiredisConnection) throws(RedisError) -> String {
        guard let sha = try connection.command(["SCRIPT", "LOAD", script.source].map { Array($0.utf8) }).string else {
            throw .reply("SCRIPT LOAD returned no SHA1")
        }
        script.sha.withLock { $0 = sha }
        return sha
    }

    private func perform<T: Sendable>(
        retry: RetryPolicy, _ body: @escaping @Sendable (HiredisConnection) throws(RedisError) -> T
    ) async throws(RedisError) -> T {
        do {
            return try await pool.withConnection(body)
        } catch .connectionLost where retry == .retryOnceOnConnectionLoss {
            // The broken connection is gone from the pool; the second try gets a live one.
            return try await pool.withConnection(body)
        } catch .notPrimary {
            // Nothing ran (READONLY, LOADING): once more on a connection to whatever the primary is now.
            return try await pool.withConnection(body)
        }
    }
}

/// What `RedisPool.replicationStatus()` found on the primary.
public struct RedisReplicationStatus: Sendable, Hashable {
    /// The primary's `host:port`.
    public var primary: String
    /// Replicas connected to it, as its ROLE lists them.
    public var connectedReplicas: Int
}
