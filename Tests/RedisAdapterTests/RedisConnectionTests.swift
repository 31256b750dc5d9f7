import Foundation
import Synchronization
import TestSupport
import Testing

@testable import RedisAdapter

/// One NIO-driven connection and the slots that lend connections out, against a real redis-server.
@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct RedisConnectionTests {
    let configuration: RedisConfiguration
    let key = "test:\(UUID().uuidString)"

    init() throws { configuration = try RedisConfiguration(url: try TestServers.requireRedisURL()) }

    func bytes(_ words: [String]) -> [[UInt8]] { words.map { Array($0.utf8) } }

    /// Kills `connection` from another one and waits until its event loop has seen the close.
    func kill(_ connection: RedisConnection) async throws {
        let id = try #require(try await connection.command(bytes(["CLIENT", "ID"])).integer)
        let killer = try await RedisConnection.connect(configuration)
        _ = try await killer.command(bytes(["CLIENT", "KILL", "ID", String(id)]))
        killer.close()
        for _ in 0..<200 where !connection.hasFailed { try await Task.sleep(for: .milliseconds(5)) }
        #expect(connection.hasFailed)
    }

    @Test("a pipeline of a thousand commands is answered in order in one round trip, each its own reply")
    func pipeline() async throws {
        let connection = try await RedisConnection.connect(configuration)
        let replies = await connection.pipeline((0..<1000).map { _ in bytes(["INCR", key]) })
        #expect(replies.map { try? $0.get() } == (1...1000).map { .integer(Int64($0)) })
        connection.close()
    }

    @Test("callers pipelining on one connection at once each get their own replies")
    func concurrentCallers() async throws {
        let connection = try await RedisConnection.connect(configuration)
        let key = self.key
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<50 {
                group.addTask {
                    for round in 0..<20 {
                        let value = "\(caller)-\(round)"
                        let replies = await connection.pipeline(
                            [["SET", "\(key):\(caller)", value], ["GET", "\(key):\(caller)"]].map {
                                $0.map { Array($0.utf8) }
                            })
                        #expect((try? replies[1].get())?.string == value)
                    }
                }
            }
            try await group.waitForAll()
        }
        connection.close()
    }

    @Test("a connection sets TCP_NODELAY and nothing only root may set (SO_DEBUG: the images run as uid 10001)")
    func socketOptions() async throws {
        let connection = try await RedisConnection.connect(configuration)
        #expect(try await connection.socketOption(level: Int32(IPPROTO_TCP), name: TCP_NODELAY) != 0)
        #expect(try await connection.socketOption(level: SOL_SOCKET, name: SO_DEBUG) == 0)
        connection.close()
    }

    @Test("a connection the server closed refuses a command without sending it: unsent, so always safe to send again")
    func brokenRefusesUnsent() async throws {
        let connection = try await RedisConnection.connect(configuration)
        try await kill(connection)
        let replies = await connection.pipeline([bytes(["INCR", key])])
        #expect(replies == [.failure(RedisConnection.unsent)])
    }

    @Test("a slot whose connection broke before the command was written sends it on a fresh one, retries off")
    func slotsResendUnsent() async throws {
        let configuration = self.configuration
        let made = Counter()
        let slots = RedisConnectionSlots(
            size: 1,
            connect: { () async throws(RedisError) in
                made.add()
                return try await RedisConnection.connect(configuration)
            },
            // Never notices the break before use: the race the unsent retry is for.
            isUsable: { _ in true })
        let first = try await slots.withConnection { connection throws(RedisError) in connection }
        try await kill(first)
        let reply = try await slots.withConnection { connection throws(RedisError) in
            try await connection.command(bytes(["INCR", key]))
        }
        #expect(reply == .integer(1))
        #expect(made.value == 2)
        slots.shutdown()
    }

    @Test("a reply later than the command timeout fails every command waiting on the connection with timeout")
    func lateReply() async throws {
        var configuration = self.configuration
        configuration.commandTimeout = .milliseconds(200)
        let connection = try await RedisConnection.connect(configuration)
        let replies = await connection.pipeline([bytes(["PING"]), bytes(["BLPOP", key + ":never", "5"]), bytes(["PING"])])
        #expect(try replies[0].get() == .simpleString("PONG"))
        for reply in replies.dropFirst() {
            guard case .failure(.timeout(let call, _)) = reply else {
                Issue.record("expected timeout, got \(reply)")
                continue
            }
            #expect(call.hasPrefix("pipeline of 3"))
        }
        #expect(connection.hasFailed)
    }

    @Test("after shutdown a caller waiting for a busy slot fails with poolClosed")
    func shutdownWakesWaiters() async throws {
        let configuration = self.configuration
        let slots = RedisConnectionSlots(
            size: 1, connect: { () async throws(RedisError) in try await RedisConnection.connect(configuration) },
            isUsable: { !$0.hasFailed })
        let key = self.key
        let holder = Task { () async -> Result<RedisValue, RedisError> in
            do throws(RedisError) {
                return .success(
                    try await slots.withConnection { connection throws(RedisError) in
                        try await connection.command([Array("BLPOP".utf8), Array((key + ":never").utf8), Array("1".utf8)])
                    })
            } catch {
                return .failure(error)
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let waiter = Task { () async -> Result<RedisValue, RedisError> in
            do throws(RedisError) {
                return .success(
                    try await slots.withConnection { connection throws(RedisError) in try await connection.command([Array("PING".utf8)]) })
            } catch {
                return .failure(error)
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        slots.shutdown()
        let waited = await waiter.value
        #expect(waited == Result<RedisValue, RedisError>.failure(.poolClosed))
        let held = await holder.value
        #expect(held == Result<RedisValue, RedisError>.success(.null))
    }
}

/// A count shared with a `@Sendable` closure.
private final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
