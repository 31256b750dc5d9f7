import Synchronization

/// A small pool of Redis connections driven by NIO (`RedisConnection`): no thread waits for Redis.
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
    private let pool: RedisConnectionSlots
    private let locator: RedisPrimaryLocator
    private let waiting = ScriptQueue()

    /// `onPrimaryChange` hears of every primary the pool learns of: the first, and each after a failover.
    public init(
        configuration: RedisConfiguration, onPrimaryChange: @escaping @Sendable (_ old: String?, _ new: String) -> Void = { _, _ in }
    ) {
        self.configuration = configuration
        let locator = RedisPrimaryLocator(configuration: configuration, onChange: onPrimaryChange)
        self.locator = locator
        self.pool = RedisConnectionSlots(
            size: configuration.poolSize,
            connect: { () async throws(RedisError) in try await locator.connect() },
            isUsable: { connection in !connection.hasFailed && locator.isCurrent(connection) })
    }

    /// The primary's `host:port` as last learned (nil before the first connection).
    public var primary: String? { locator.primary }

    /// What the primary says of itself: its address, and how many replicas are connected to it (ROLE).
    /// Throws `notPrimary` if the node is not a primary.
    public func replicationStatus() async throws(RedisError) -> RedisReplicationStatus {
        try await perform(retry: .retryOnceOnConnectionLoss) { connection throws(RedisError) in
            RedisReplicationStatus(primary: connection.address, connectedReplicas: try await connection.requirePrimary())
        }
    }

    /// Runs one command with string arguments.
    public func command(_ arguments: [String], retry: RetryPolicy) async throws(RedisError) -> RedisValue {
        try await command(bytes: arguments.map { Array($0.utf8) }, retry: retry)
    }

    /// Runs one command with binary arguments.
    public func command(bytes arguments: [[UInt8]], retry: RetryPolicy) async throws(RedisError) -> RedisValue {
        try await perform(retry: retry) { connection throws(RedisError) in try await connection.command(arguments) }
    }

    /// Runs `script` with EVALSHA, loading it first if this server does not know it (yet, or any more).
    /// With `minReplicas` set, the reply is returned only once that many replicas have the script's
    /// writes (`WAIT` on the same connection); else the call fails with `notReplicated`.
    ///
    /// Script calls that arrive while others are on their way share one round trip: one connection
    /// sends every waiting call in one write (with one `WAIT` after them, which covers them all) and
    /// reads the replies in order, while the next calls gather (see `drain`). Redis still runs each
    /// script alone and whole. A call is sent once more, alone, when that first attempt found the node
    /// no primary or the script unknown (nothing ran), or lost its connection and the script is
    /// idempotent: the same retries as every other call.
    public func run(_ script: RedisScript, keys: [String], arguments: [String]) async throws(RedisError) -> RedisValue {
        try await run(script, keys: RedisScriptKeys(keys), arguments: arguments)
    }

    /// `run(_:keys:arguments:)` with keys encoded once, for a caller that passes the same keys every time.
    public func run(_ script: RedisScript, keys: RedisScriptKeys, arguments: [String]) async throws(RedisError) -> RedisValue {
        let tail = keys.encoded + arguments.map { Array($0.utf8) }
        let reply = ScriptReply()
        if waiting.enqueue(ScriptCall(script: script, tail: tail, reply: reply)) {
            // No round trip under way: this call makes one itself, on its own task (no hop to another
            // at low load), for itself and whatever else is waiting by then.
            await drain(roundTrips: 1)
        }
        switch await reply.value() {
        case .success(let reply):
            return reply
        case .failure(let error):
            guard Self.mayRunAgain(after: error, script) else { throw error }
            let (wait, required) = (Self.waitCommand(configuration), configuration.minReplicas)
            let locator = self.locator
            return try await pool.withConnection { connection throws(RedisError) in
                try await locator.awaitConfirmation(of: connection)
                let reply = try await Self.evaluate(script, tail: tail, on: connection)
                if let wait {
                    let acknowledged = Int(try await connection.command(wait).integer ?? 0)
                    guard acknowledged >= required else { throw .notReplicated(acknowledged: acknowledged, required: required) }
                }
                return reply
            }
        }
    }

    /// Whether a script call that failed with `error` is sent once more: nothing ran (a node that is no
    /// primary, a script it did not know), or the connection broke and running it twice is harmless.
    private static func mayRunAgain(after error: RedisError, _ script: RedisScript) -> Bool {
        switch error {
        case .notPrimary: true
        case .connectionLost: error == RedisConnection.unsent || script.isIdempotent
        case .reply(let message): message.hasPrefix("NOSCRIPT")
        default: false
        }
    }

    /// One script call waiting for its round trip.
    private struct ScriptCall: Sendable {
        let script: RedisScript
        let tail: [[UInt8]]
        let reply: ScriptReply
    }

    /// Where a call's first attempt is answered: it may be answered before its caller waits for it (the
    /// caller that made the round trip itself), or after.
    private final class ScriptReply: Sendable {
        private enum State {
            case pending
            case waiting(CheckedContinuation<Result<RedisValue, RedisError>, Never>)
            case done(Result<RedisValue, RedisError>)
        }
        private let state = Mutex(State.pending)

        func deliver(_ result: Result<RedisValue, RedisError>) {
            let waiter = state.withLock { state -> CheckedContinuation<Result<RedisValue, RedisError>, Never>? in
                defer { state = .done(result) }
                if case .waiting(let continuation) = state { return continuation }
                return nil
            }
            waiter?.resume(returning: result)
        }

        func value() async -> Result<RedisValue, RedisError> {
            if case .done(let result) = state.withLock({ $0 }) { return result }
            return await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Result<RedisValue, RedisError>? in
                    if case .done(let result) = state { return result }
                    state = .waiting(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    /// The calls waiting, and whether a `drain` is serving them (there is at most one).
    private final class ScriptQueue: Sendable {
        private struct State {
            var calls: [ScriptCall] = []
            var draining = false
        }
        private let state = Mutex(State())

        /// Adds `call`; true when no drain is under way, and the caller must start one.
        func enqueue(_ call: ScriptCall) -> Bool {
            state.withLock { state in
                state.calls.append(call)
                defer { state.draining = true }
                return !state.draining
            }
        }

        /// True, and no drain under way any more, when no call is waiting.
        func finishIfEmpty() -> Bool {
            state.withLock { state in
                if state.calls.isEmpty { state.draining = false }
                return !state.draining
            }
        }

        /// The next calls to send, at most `limit`, or nil (and no drain under way any more) when none is waiting.
        func take(limit: Int) -> [ScriptCall]? {
            state.withLock { state in
                guard !state.calls.isEmpty else {
                    state.draining = false
                    return nil
                }
                let count = min(state.calls.count, limit)
                defer { state.calls.removeFirst(count) }
                return Array(state.calls.prefix(count))
            }
        }
    }

    /// The most calls one round trip carries.
    private static let batchLimit = 128
    /// The most round trips one drain makes on a connection before it lets other calls have it.
    private static let roundTripsPerConnection = 64

    /// Serves the waiting script calls, a round trip at a time, until none is left. The call that finds
    /// no round trip under way makes the first itself; if calls are still waiting after it, a task of
    /// their own goes on serving them (at most `roundTripsPerConnection` on one connection before it
    /// takes the next). Each round trip takes every call that arrived while the previous one was out,
    /// so a busy replica sends fewer, fuller writes.
    private func drain(roundTrips budget: Int) async {
        let (wait, required) = (Self.waitCommand(configuration), configuration.minReplicas)
        let (waiting, locator) = (self.waiting, self.locator)
        while true {
            let stop: Result<DrainStop, RedisError>
            do throws(RedisError) {
                stop = .success(
                    try await pool.withConnection { connection throws(RedisError) -> DrainStop in
                        var roundTrips = 0
                        while true {
                            // A connection that broke, or whose node is no longer the primary, is not used again.
                            if connection.hasFailed || !locator.isCurrent(connection) { return .connectionUnusable }
                            // Nothing is written to a node the Sentinels may have left (a throw fails the waiting calls).
                            try await locator.awaitConfirmation(of: connection)
                            guard let calls = waiting.take(limit: Self.batchLimit) else { return .nothingWaiting }
                            await Self.serve(calls, on: connection, wait: wait, required: required)
                            roundTrips += 1
                            if roundTrips == budget { return waiting.finishIfEmpty() ? .nothingWaiting : .budgetSpent }
                        }
                    })
            } catch {
                stop = .failure(error)
            }
            switch stop {
            case .success(.nothingWaiting):
                return
            case .success(.connectionUnusable):
                continue  // the next round trips, on a sound connection
            case .success(.budgetSpent):
                Task { await drain(roundTrips: Self.roundTripsPerConnection) }
                return
            case .failure(let error):
                // No connection could be made (or the pool is shut down): every waiting call fails as a
                // call of its own would have, and a later call starts a new drain.
                while let calls = waiting.take(limit: Int.max) {
                    for call in calls { call.reply.deliver(.failure(error)) }
                }
                return
            }
        }
    }

    /// Why a drain let go of its connection.
    private enum DrainStop: Sendable {
        case nothingWaiting, connectionUnusable, budgetSpent
    }

    /// One round trip: every call's EVALSHA (after loading a script this server has not seen), then
    /// the WAIT, in one write; each call is answered with its own reply, or the WAIT's verdict on it.
    private static func serve(_ calls: [ScriptCall], on connection: RedisConnection, wait: [[UInt8]]?, required: Int) async {
        var results = [Result<RedisValue, RedisError>?](repeating: nil, count: calls.count)
        var commands: [[[UInt8]]] = []
        var sent: [Int] = []
        for (index, call) in calls.enumerated() {
            do throws(RedisError) {
                commands.append(try await evalshaCommand(call.script, tail: call.tail, on: connection))
                sent.append(index)
            } catch {
                results[index] = .failure(error)
            }
        }
        if let wait { commands.append(wait) }
        let replies = commands.isEmpty ? [] : await connection.pipeline(commands)
        var verdict: RedisError? = nil
        if wait != nil, let last = replies.last {
            switch last {
            case .success(let value):
                let acknowledged = Int(value.integer ?? 0)
                if acknowledged < required { verdict = .notReplicated(acknowledged: acknowledged, required: required) }
            case .failure(let error):
                verdict = error
            }
        }
        for (position, index) in sent.enumerated() {
            var result = replies[position]
            if case .success = result, let verdict { result = .failure(verdict) }
            if case .failure(.reply(let message)) = result, message.hasPrefix("NOSCRIPT") {
                calls[index].script.sha.withLock { $0 = nil }
            }
            results[index] = result
        }
        for (call, result) in zip(calls, results) {
            call.reply.deliver(result ?? .failure(.client(call: "pipeline", message: "no reply")))
        }
    }

    /// `EVALSHA sha` + `tail`, loading `script` on this server first if its SHA1 is not known (yet, or any more).
    private static func evalshaCommand(_ script: RedisScript, tail: [[UInt8]], on connection: RedisConnection) async throws(RedisError)
        -> [[UInt8]]
    {
        let sha: String
        if let known = script.sha.withLock({ $0 }) { sha = known } else { sha = try await load(script, on: connection) }
        return [evalsha, Array(sha.utf8)] + tail
    }

    private static func evaluate(_ script: RedisScript, tail: [[UInt8]], on connection: RedisConnection) async throws(RedisError)
        -> RedisValue
    {
        for _ in 0..<2 {
            do throws(RedisError) {
                return try await connection.command(try await evalshaCommand(script, tail: tail, on: connection))
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

    /// Closes every connection and stops following the Sentinels; later calls throw `poolClosed`.
    public func shutdown() async {
        await locator.shutdown()
        pool.shutdown()
    }

    private static func load(_ script: RedisScript, on connection: RedisConnection) async throws(RedisError) -> String {
        guard let sha = try await connection.command(["SCRIPT", "LOAD", script.source].map { Array($0.utf8) }).string else {
            throw .reply("SCRIPT LOAD returned no SHA1")
        }
        script.sha.withLock { $0 = sha }
        return sha
    }

    private func perform<T: Sendable>(
        retry: RetryPolicy, _ body: (RedisConnection) async throws(RedisError) -> T
    ) async throws(RedisError) -> T {
        let locator = self.locator
        let confirmed = { (connection: RedisConnection) async throws(RedisError) -> T in
            try await locator.awaitConfirmation(of: connection)
            return try await body(connection)
        }
        do {
            return try await pool.withConnection(confirmed)
        } catch .connectionLost where retry == .retryOnceOnConnectionLoss {
            // The broken connection is gone from the pool; the second try gets a live one.
            return try await pool.withConnection(confirmed)
        } catch .notPrimary {
            // Nothing ran (READONLY, LOADING, or the primary moved on): once more on a connection to
            // whatever the primary is now.
            return try await pool.withConnection(confirmed)
        }
    }
}

/// The KEYS of a script call, encoded once (their count first, as EVALSHA wants): a caller that passes
/// the same keys on every call keeps one of these.
public struct RedisScriptKeys: Sendable {
    let encoded: [[UInt8]]

    public init(_ keys: [String]) { encoded = ([String(keys.count)] + keys).map { Array($0.utf8) } }
}

/// The command name of every script call.
private let evalsha = Array("EVALSHA".utf8)

/// What `RedisPool.replicationStatus()` found on the primary.
public struct RedisReplicationStatus: Sendable, Hashable {
    /// The primary's `host:port`.
    public var primary: String
    /// Replicas connected to it, as its ROLE lists them.
    public var connectedReplicas: Int
}
