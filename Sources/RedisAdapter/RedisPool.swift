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

    public init(configuration: RedisConfiguration) {
        self.configuration = configuration
        self.pool = BlockingPool(
            size: configuration.poolSize, closedError: .poolClosed,
            connect: { () throws(RedisError) in try HiredisConnection(configuration) }, isBroken: \.isBroken)
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
    /// Sent again after a lost connection only if the script is idempotent.
    public func run(_ script: RedisScript, keys: [String], arguments: [String]) async throws(RedisError) -> RedisValue {
        let tail = ([String(keys.count)] + keys + arguments).map { Array($0.utf8) }
        return try await perform(retry: script.isIdempotent ? .retryOnceOnConnectionLoss : .never) { connection throws(RedisError) in
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
    }

    /// Closes every connection and stops the pool's threads; later calls throw `poolClosed`.
    public func shutdown() async { await pool.shutdown() }

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
        }
    }
}
