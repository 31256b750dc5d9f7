import Foundation
import TestSupport
import Testing

@testable import RedisAdapter

@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct RedisPoolTests {
    let url: String
    let key = "test:\(UUID().uuidString)"

    init() throws { url = try TestServers.requireRedisURL() }

    func withPool<T>(
        url: String? = nil, poolSize: Int = 2, commandTimeout: Duration = .seconds(2), _ body: (RedisPool) async throws -> T
    ) async throws -> T {
        let pool = RedisPool(
            configuration: try RedisConfiguration(url: url ?? self.url, commandTimeout: commandTimeout, poolSize: poolSize))
        do {
            let result = try await body(pool)
            await pool.shutdown()
            return result
        } catch {
            await pool.shutdown()
            throw error
        }
    }

    /// `withPool` on a redis-server of the test's own, for tests that flush the script cache or count
    /// the round trips the server saw (the shared server serves other tests at the same time).
    func withPrivateServerPool<T>(poolSize: Int = 2, _ body: (RedisPool) async throws -> T) async throws -> T {
        let server = try RedisServerProcess()
        try server.start()
        defer { server.stop() }
        return try await withPool(url: server.url, poolSize: poolSize, body)
    }

    @Test("commands run and replies come back typed")
    func roundTrip() async throws {
        try await withPool { pool async throws in
            #expect(try await pool.command(["SET", key, "v1"], retry: .never) == .simpleString("OK"))
            #expect(try await pool.command(["GET", key], retry: .never).string == "v1")
            #expect(try await pool.command(["INCRBY", key + ":n", "5"], retry: .never) == .integer(5))
            #expect(try await pool.command(["GET", key + ":missing"], retry: .never) == .null)
            _ = try await pool.command(["RPUSH", key + ":l", "a", "b"], retry: .never)
            #expect(
                try await pool.command(["LRANGE", key + ":l", "0", "-1"], retry: .never)
                    == .array([.bulkString(Array("a".utf8)), .bulkString(Array("b".utf8))]))
        }
    }

    @Test("HGETALL returns binary values byte for byte, NULs and CRLFs included")
    func binaryValues() async throws {
        let value = (0...255).map { UInt8($0) } + Array("\r\n\0end".utf8)
        try await withPool { pool async throws in
            _ = try await pool.command(bytes: [Array("HSET".utf8), Array(key.utf8), [0, 13, 10, 255], value], retry: .never)
            let reply = try await pool.command(["HGETALL", key], retry: .never)
            #expect(reply.array == [.bulkString([0, 13, 10, 255]), .bulkString(value)])
        }
    }

    @Test("an error reply is thrown with Redis's message, and the connection stays usable")
    func errorReply() async throws {
        try await withPool(poolSize: 1) { pool async throws in
            _ = try await pool.command(["SET", key, "text"], retry: .never)
            await #expect {
                try await pool.command(["HGET", key, "field"], retry: .never)
            } throws: { error in
                guard case .reply(let message) = error as? RedisError else { return false }
                return message.hasPrefix("WRONGTYPE")
            }
            #expect(try await pool.command(["PING"], retry: .never) == .simpleString("PONG"))
        }
    }

    /// On a private server: SCRIPT FLUSH empties the script cache of the whole server, and on the shared
    /// one it made another test's EVALSHA answer NOSCRIPT in the middle of counting its runs.
    @Test("a script runs by EVALSHA, and again after SCRIPT FLUSH by loading it anew")
    func scriptAfterFlush() async throws {
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])", idempotent: false)
        try await withPrivateServerPool { pool async throws in
            #expect(try await pool.run(script, keys: [key], arguments: ["2"]) == .integer(2))
            let sha = try #require(script.sha.withLock { $0 })
            #expect(try await pool.command(["SCRIPT", "EXISTS", sha], retry: .never) == .array([.integer(1)]))
            _ = try await pool.command(["SCRIPT", "FLUSH"], retry: .never)
            #expect(try await pool.command(["SCRIPT", "EXISTS", sha], retry: .never) == .array([.integer(0)]))
            #expect(try await pool.run(script, keys: [key], arguments: ["3"]) == .integer(5))
            #expect(try await pool.command(["SCRIPT", "EXISTS", sha], retry: .never) == .array([.integer(1)]))
        }
    }

    /// Reads the server processed (INFO stats `total_reads_processed`): one per round trip a client made.
    private func readsProcessed(_ pool: RedisPool) async throws -> Int {
        let info = try #require(try await pool.command(["INFO", "stats"], retry: .never).string)
        let line = try #require(info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("total_reads_processed:") })
        return try #require(Int(line.split(separator: ":")[1]))
    }

    @Test("script calls made together share round trips: each gets its own reply and runs exactly once")
    func scriptCallsShareRoundTrips() async throws {
        let script = RedisScript("redis.call('INCR', KEYS[1]); return ARGV[1]", idempotent: false)
        try await withPrivateServerPool(poolSize: 1) { pool async throws in
            _ = try await pool.run(script, keys: [key], arguments: ["load"])
            let before = try await readsProcessed(pool)
            let calls = 500
            let replies = try await withThrowingTaskGroup(of: (Int, RedisValue).self) { group in
                for call in 0..<calls { group.addTask { (call, try await pool.run(script, keys: [key], arguments: ["\(call)"])) } }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            let reads = try await readsProcessed(pool) - before - 1
            #expect(replies.count == calls && replies.allSatisfy { $0.value == .bulkString(Array("\($0.key)".utf8)) })
            #expect(try await pool.command(["GET", key], retry: .never).integer == Int64(calls) + 1)
            #expect(reads < calls, "\(calls) calls took \(reads) round trips")
        }
    }

    @Test("in a shared round trip an error reply fails its own call only")
    func errorInSharedRoundTrip() async throws {
        let script = RedisScript("if ARGV[1] == 'bad' then return redis.error_reply('ERR refused') end return ARGV[1]", idempotent: false)
        try await withPool(poolSize: 1) { pool async throws in
            let outcomes = await withTaskGroup(of: (String, Result<RedisValue, RedisError>).self) { group in
                for call in 0..<200 {
                    let argument = call % 3 == 0 ? "bad" : "\(call)"
                    group.addTask {
                        do throws(RedisError) {
                            return (argument, .success(try await pool.run(script, keys: [key], arguments: [argument])))
                        } catch {
                            return (argument, .failure(error))
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.count == 200)
            for (argument, outcome) in outcomes {
                switch outcome {
                case .success(let reply): #expect(argument != "bad" && reply == .bulkString(Array(argument.utf8)))
                case .failure(let error): #expect(argument == "bad" && error == .reply("ERR refused"), "\(argument): \(error)")
                }
            }
        }
    }

    @Test("calls in flight when the script cache is flushed are each run once: loaded anew and sent again")
    func sharedRoundTripsAcrossFlush() async throws {
        let script = RedisScript("return redis.call('INCR', KEYS[1])", idempotent: false)
        try await withPrivateServerPool(poolSize: 2) { pool async throws in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for call in 0..<400 {
                    if call == 200 { group.addTask { _ = try await pool.command(["SCRIPT", "FLUSH"], retry: .never) } }
                    group.addTask { _ = try await pool.run(script, keys: [key], arguments: []) }
                }
                try await group.waitForAll()
            }
            #expect(try await pool.command(["GET", key], retry: .never).integer == 400)
        }
    }

    @Test("after CLIENT KILL the pool reconnects and the next command succeeds on a new connection")
    func reconnectAfterKill() async throws {
        try await withPool(poolSize: 1) { pool async throws in
            let before = try #require(try await pool.command(["CLIENT", "ID"], retry: .never).integer)
            try await withPool(poolSize: 1) { killer async throws in
                #expect(try await killer.command(["CLIENT", "KILL", "ID", String(before)], retry: .never) == .integer(1))
            }
            #expect(try await pool.command(["PING"], retry: .retryOnceOnConnectionLoss) == .simpleString("PONG"))
            let after = try #require(try await pool.command(["CLIENT", "ID"], retry: .never).integer)
            #expect(after != before)
        }
    }

    @Test("a connection the server closed while idle is replaced before use: the next call succeeds with retries off")
    func idleClosedConnectionIsReplaced() async throws {
        try await withPool(poolSize: 1) { pool async throws in
            try await withPool(poolSize: 1) { killer async throws in
                // Many times over: whether the event loop has read the end of stream before the next
                // write is a race the kernel's view of the socket must settle, every time.
                for round in 1...40 {
                    let id = try #require(try await pool.command(["CLIENT", "ID"], retry: .never).integer)
                    #expect(try await killer.command(["CLIENT", "KILL", "ID", String(id)], retry: .never) == .integer(1))
                    // What every pooled connection sees after a Redis restart. A call that is not idempotent
                    // cannot be sent twice, so it must not be spent on a connection known to be closed.
                    #expect(try await pool.command(["INCR", key], retry: .never) == .integer(Int64(round)))
                    let newID = try #require(try await pool.command(["CLIENT", "ID"], retry: .never).integer)
                    #expect(newID != id)
                }
            }
        }
    }

    @Test("a command that outlives the command timeout fails with timeout, and the pool recovers")
    func commandTimeout() async throws {
        // 1 s, not less: the PING after it gets the same timeout on a new connection, and a loaded
        // machine answered it later than 200 ms.
        try await withPool(poolSize: 1, commandTimeout: .seconds(1)) { pool async throws in
            await #expect {
                try await pool.command(["BLPOP", key + ":never", "5"], retry: .never)
            } throws: { error in
                guard case .timeout(let call, _) = error as? RedisError else { return false }
                return call == "BLPOP"
            }
            #expect(try await pool.command(["PING"], retry: .never) == .simpleString("PONG"))
        }
    }

    @Test("many concurrent commands over a small pool all run exactly once")
    func concurrency() async throws {
        try await withPool(poolSize: 3) { pool async throws in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<300 { group.addTask { _ = try await pool.command(["INCR", key], retry: .never) } }
                try await group.waitForAll()
            }
            #expect(try await pool.command(["GET", key], retry: .never).integer == 300)
        }
    }

    @Test("a refused connection names the call and the address")
    func refused() async throws {
        let pool = RedisPool(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1", connectTimeout: .milliseconds(500)))
        await #expect {
            try await pool.command(["PING"], retry: .never)
        } throws: { error in
            guard case .connectFailed(let address, let call, _) = error as? RedisError else { return false }
            return address == "127.0.0.1:1" && call == "connect"
        }
        await pool.shutdown()
    }

    @Test("a password the server does not expect fails the connect with Redis's reason")
    func authRefused() async throws {
        var configuration = try RedisConfiguration(url: url)
        configuration.password = "wrong"
        let pool = RedisPool(configuration: configuration)
        await #expect {
            try await pool.command(["PING"], retry: .never)
        } throws: { error in
            guard case .connectFailed(_, _, let message) = error as? RedisError else { return false }
            return message.contains("AUTH")
        }
        await pool.shutdown()
    }

    @Test("after shutdown every call fails with poolClosed")
    func closed() async throws {
        let pool = RedisPool(configuration: try RedisConfiguration(url: url))
        await pool.shutdown()
        await #expect(throws: RedisError.poolClosed) { try await pool.command(["PING"], retry: .never) }
    }
}

struct RedisConfigurationTests {
    @Test("a URL gives host, port, credentials and database")
    func parses() throws {
        let full = try RedisConfiguration(url: "redis://user:p%40ss@cache.local:6380/3")
        #expect(full.host == "cache.local" && full.port == 6380 && full.database == 3)
        #expect(full.username == "user" && full.password == "p@ss")
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@127.0.0.1")
        #expect(
            passwordOnly.username == nil && passwordOnly.password == "secret" && passwordOnly.port == 6379 && passwordOnly.database == 0)
        let ipv6 = try RedisConfiguration(url: "redis://[::1]:7000")
        #expect(ipv6.host == "::1" && ipv6.address == "[::1]:7000")
    }

    @Test("anything else is refused with the reason", arguments: ["http://x", "redis://", "redis://h:99999", "redis://h/abc", "not a url"])
    func refuses(url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }
}

/// What the pool does when a reply never arrives: through a proxy that drops it or never answers.
@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct RedisPoolRetryTests {
    let upstreamPort: Int
    let key = "test:\(UUID().uuidString)"

    init() throws {
        upstreamPort = try RedisConfiguration(url: try TestServers.requireRedisURL()).port
    }

    /// Runs `script` through a proxy that lets Redis run each EVALSHA but drops its reply; expects the
    /// call to fail with connectionLost and returns how often the script ran on the server.
    func runsThroughDroppedReplies(_ script: RedisScript) async throws -> (runs: Int64, sent: Int) {
        let proxy = try FaultyRedisProxy(upstreamPort: upstreamPort, fault: .dropReplyTo(marker: "EVALSHA"))
        // A long command timeout: the proxy closes the connection instead of answering, so no call waits
        // for it; a short one turned a slow proxy thread on a loaded machine into a timeout.
        let pool = RedisPool(configuration: try RedisConfiguration(url: proxy.url, commandTimeout: .seconds(10), poolSize: 1))
        await #expect {
            try await pool.run(script, keys: [key], arguments: [])
        } throws: { error in
            guard case .connectionLost = error as? RedisError else { return false }
            return true
        }
        await pool.shutdown()
        proxy.stop()
        let sent = proxy.requests(containing: "EVALSHA")
        let direct = RedisPool(configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(upstreamPort)"))
        let runs = try await direct.command(["GET", key], retry: .never).integer ?? 0
        await direct.shutdown()
        return (runs, sent)
    }

    @Test("a script that is not idempotent runs once when its reply is lost: the pool does not send it again")
    func notIdempotentIsNotRetried() async throws {
        let (runs, sent) = try await runsThroughDroppedReplies(RedisScript("return redis.call('INCR', KEYS[1])", idempotent: false))
        #expect(sent == 1 && runs == 1, "sent \(sent) times, the INCR ran \(runs) times")
    }

    @Test("an idempotent script is sent once more on a fresh connection after its reply was lost")
    func idempotentIsRetriedOnce() async throws {
        let (runs, sent) = try await runsThroughDroppedReplies(RedisScript("return redis.call('INCR', KEYS[1])", idempotent: true))
        #expect(sent == 2 && runs == 2, "one try and one retry, each dropped by the proxy: sent \(sent) times, ran \(runs) times")
    }

    @Test("a command whose reply never comes fails with timeout and is not sent again, even when retries are allowed")
    func timeoutIsNeverRetried() async throws {
        let proxy = try FaultyRedisProxy(upstreamPort: upstreamPort, fault: .silence)
        let pool = RedisPool(configuration: try RedisConfiguration(url: proxy.url, commandTimeout: .milliseconds(200), poolSize: 1))
        await #expect {
            try await pool.command(["PING"], retry: .retryOnceOnConnectionLoss)
        } throws: { error in
            guard case .timeout = error as? RedisError else { return false }
            return true
        }
        await pool.shutdown()
        proxy.stop()
        #expect(proxy.requests(containing: "PING") == 1)
    }
}
