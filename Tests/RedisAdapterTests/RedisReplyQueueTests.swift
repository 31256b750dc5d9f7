import Testing

@testable import RedisAdapter

/// The bookkeeping that matches replies to pipelined requests, with no connection.
struct RedisReplyQueueTests {
    typealias Queue = RedisReplyQueue<String>

    func completed(_ received: Queue.Received) -> (String, [Result<RedisValue, RedisError>])? {
        if case .completed(let waiter, let replies) = received { return (waiter, replies) }
        return nil
    }

    @Test("each reply goes to the oldest request still short of replies; a request completes with its last")
    func order() {
        var queue = Queue(address: "h:1")
        queue.enqueue(count: 2, waiter: "a")
        queue.enqueue(count: 1, waiter: "b")
        guard case .waiting = queue.receive(.integer(1)) else {
            Issue.record("a waits for its second reply")
            return
        }
        let a = completed(queue.receive(.integer(2)))
        #expect(a?.0 == "a")
        #expect(a?.1.map { try? $0.get() } == [.integer(1), .integer(2)])
        let b = completed(queue.receive(.simpleString("OK")))
        #expect(b?.0 == "b")
        #expect(queue.isEmpty)
    }

    @Test("an error reply fails its own command only; READONLY, LOADING and MASTERDOWN say the node is no primary")
    func errors() {
        var queue = Queue(address: "h:1")
        queue.enqueue(count: 3, waiter: "a")
        _ = queue.receive(.error("NOSCRIPT No matching script"))
        #expect(!queue.sawNotPrimary)
        _ = queue.receive(.integer(7))
        let a = completed(queue.receive(.error("READONLY You can't write against a read only replica.")))
        #expect(a?.1[0] == .failure(.reply("NOSCRIPT No matching script")))
        #expect(a?.1[1] == .success(.integer(7)))
        #expect(a?.1[2] == .failure(.notPrimary(address: "h:1", message: "READONLY You can't write against a read only replica.")))
        #expect(queue.sawNotPrimary)
    }

    @Test("an error nested in an array stays a value")
    func nestedError() {
        var queue = Queue(address: "h:1")
        queue.enqueue(count: 1, waiter: "exec")
        let done = completed(queue.receive(.array([.error("WRONGTYPE x"), .integer(1)])))
        #expect(done?.1 == [.success(.array([.error("WRONGTYPE x"), .integer(1)]))])
        #expect(!queue.sawNotPrimary)
    }

    @Test("a broken connection keeps the replies that came and fails the rest of every waiting request")
    func failAll() {
        var queue = Queue(address: "h:1")
        queue.enqueue(count: 2, waiter: "a")
        queue.enqueue(count: 1, waiter: "b")
        _ = queue.receive(.integer(1))
        let lost = RedisError.connectionLost(call: "read", message: "gone")
        let failed = queue.failAll(lost)
        #expect(failed.map(\.0) == ["a", "b"])
        #expect(failed[0].1 == [.success(.integer(1)), .failure(lost)])
        #expect(failed[1].1 == [.failure(lost)])
        #expect(queue.isEmpty)
        #expect(queue.failAll(lost).isEmpty)
    }

    @Test("a reply no request waits for is handed on as unsolicited (a pub/sub message)")
    func unsolicited() {
        var queue = Queue(address: "h:1")
        guard case .unsolicited(let value) = queue.receive(.array([.bulkString(Array("message".utf8))])) else {
            Issue.record("expected unsolicited")
            return
        }
        #expect(value.array?.first?.string == "message")
    }

    @Test("thousands of requests in flight are answered in order, each to its own waiter, across compactions")
    func many() {
        var queue = Queue(address: "h:1")
        var waiters: [String] = []
        var answered: [String] = []
        for round in 0..<50 {
            for index in 0..<100 {
                waiters.append("\(round)-\(index)")
                queue.enqueue(count: 1, waiter: waiters.last!)
            }
            // Answer all but the last 30 each round, so the queue always holds some.
            for _ in 0..<(round == 49 ? waiters.count - answered.count : 70) {
                if case .completed(let waiter, let replies) = queue.receive(.integer(Int64(answered.count))) {
                    #expect(replies == [.success(.integer(Int64(answered.count)))])
                    answered.append(waiter)
                }
            }
        }
        #expect(answered == waiters)
        #expect(queue.isEmpty)
    }
}
