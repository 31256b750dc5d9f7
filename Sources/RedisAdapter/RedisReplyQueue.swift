/// The requests written on one connection whose replies have not all come, oldest first: Redis answers
/// in the order it was asked, so each reply belongs to the oldest request still short of replies.
///
/// Pure bookkeeping, generic over whatever waits for a request (a promise on the connection), so it is
/// tested with no connection at all.
struct RedisReplyQueue<Waiter> {
    /// One request: `count` commands written together, answered by `count` replies.
    private struct Request {
        let count: Int
        let waiter: Waiter
        var results: [Result<RedisValue, RedisError>] = []
    }

    /// What a reply did.
    enum Received {
        /// It was the last one the request of `waiter` waited for.
        case completed(Waiter, [Result<RedisValue, RedisError>])
        /// Its request waits for more.
        case waiting
        /// No request waited for it: a pushed message (pub/sub).
        case unsolicited(RedisValue)
    }

    /// `host:port` of the node, for errors.
    let address: String
    private var requests: [Request] = []
    private var head = 0
    /// Set once the node answered READONLY, LOADING or MASTERDOWN: it is no primary to use any more.
    private(set) var sawNotPrimary = false

    init(address: String) { self.address = address }

    var isEmpty: Bool { head == requests.count }

    /// The waiter of the oldest request still short of replies.
    var oldest: Waiter? { isEmpty ? nil : requests[head].waiter }

    /// Records a request of `count` commands just written.
    mutating func enqueue(count: Int, waiter: Waiter) {
        requests.append(Request(count: count, waiter: waiter))
    }

    /// One reply from the server. A top-level error reply fails its own command only: READONLY, LOADING
    /// and MASTERDOWN as `notPrimary` (nothing ran), anything else as `reply`.
    mutating func receive(_ value: RedisValue) -> Received {
        guard !isEmpty else { return .unsolicited(value) }
        let result: Result<RedisValue, RedisError>
        if case .error(let message) = value {
            if message.hasPrefix("READONLY") || message.hasPrefix("LOADING") || message.hasPrefix("MASTERDOWN") {
                sawNotPrimary = true
                result = .failure(.notPrimary(address: address, message: message))
            } else {
                result = .failure(.reply(message))
            }
        } else {
            result = .success(value)
        }
        requests[head].results.append(result)
        guard requests[head].results.count == requests[head].count else { return .waiting }
        let done = requests[head]
        head += 1
        compact()
        return .completed(done.waiter, done.results)
    }

    /// Every request still waiting, each with the replies it got and `error` for each it did not (those
    /// commands may or may not have run); the queue is empty after.
    mutating func failAll(_ error: RedisError) -> [(Waiter, [Result<RedisValue, RedisError>])] {
        defer {
            requests.removeAll()
            head = 0
        }
        return requests[head...].map { request in
            (request.waiter, request.results + Array(repeating: .failure(error), count: request.count - request.results.count))
        }
    }

    /// Drops answered requests once they are half the array, so it does not grow with the connection's age.
    private mutating func compact() {
        if head == requests.count {
            requests.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64, head * 2 > requests.count {
            requests.removeFirst(head)
            head = 0
        }
    }
}
