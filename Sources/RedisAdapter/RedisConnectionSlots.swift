import Synchronization

/// A few Redis connections, each used by one caller at a time (a script round trip and its WAIT must not
/// interleave with another caller's). A slot's connection is made on first use and made anew when it
/// has failed; a caller that finds every slot busy waits, in order, for the next one freed. Nothing
/// blocks a thread: the waits are continuations.
final class RedisConnectionSlots: Sendable {
    /// A free slot: its connection, or nil until one is made.
    private typealias Slot = RedisConnection?

    private struct State {
        var free: [Slot]
        var waiters: [CheckedContinuation<Slot?, Never>] = []
        var closed = false
    }

    private let state: Mutex<State>
    private let connect: @Sendable () async throws(RedisError) -> RedisConnection
    private let isUsable: @Sendable (RedisConnection) -> Bool

    /// `size` slots whose connections `connect` makes; a connection for which `isUsable` fails when it is
    /// next needed is closed and replaced. Calls after `shutdown()` throw `poolClosed`.
    init(
        size: Int, connect: @escaping @Sendable () async throws(RedisError) -> RedisConnection,
        isUsable: @escaping @Sendable (RedisConnection) -> Bool
    ) {
        state = Mutex(State(free: Array(repeating: nil, count: max(size, 1))))
        self.connect = connect
        self.isUsable = isUsable
    }

    /// Runs `body` with exclusive use of one connection. A failure to connect is thrown without running
    /// `body`; a command refused because the connection broke before it was written runs `body` once
    /// more on a fresh connection (nothing was sent).
    func withConnection<T: Sendable>(_ body: (RedisConnection) async throws(RedisError) -> T) async throws(RedisError) -> T {
        var slot = try await acquire()
        defer { release(slot) }
        var attempt = 0
        while true {
            attempt += 1
            let connection: RedisConnection
            if let existing = slot, isUsable(existing) {
                connection = existing
            } else {
                slot?.close()
                slot = nil
                connection = try await connect()
                slot = connection
            }
            do {
                return try await body(connection)
            } catch let error where error == RedisConnection.unsent && attempt == 1 {
                // It broke after the check above and before the write: the next attempt makes a new one.
                slot?.close()
                slot = nil
            }
        }
    }

    /// Closes every free connection and fails every waiter; busy connections are closed when released.
    func shutdown() {
        let (free, waiters) = state.withLock { state in
            state.closed = true
            defer {
                state.free = []
                state.waiters = []
            }
            return (state.free, state.waiters)
        }
        for slot in free { slot?.close() }
        for waiter in waiters { waiter.resume(returning: nil) }
    }

    /// A free slot, or the next one released.
    private func acquire() async throws(RedisError) -> Slot {
        enum Next {
            case slot(Slot)
            case closed
            case wait
        }
        let next = state.withLock { state -> Next in
            if state.closed { return .closed }
            if let slot = state.free.popLast() { return .slot(slot) }
            return .wait
        }
        switch next {
        case .slot(let slot): return slot
        case .closed: throw .poolClosed
        case .wait: break
        }
        // nil: the pool was shut down while this caller waited.
        let handed = await withCheckedContinuation { (continuation: CheckedContinuation<Slot?, Never>) in
            let next = state.withLock { state -> Next in
                if state.closed { return .closed }
                if let slot = state.free.popLast() { return .slot(slot) }
                state.waiters.append(continuation)
                return .wait
            }
            switch next {
            case .slot(let slot): continuation.resume(returning: .some(slot))
            case .closed: continuation.resume(returning: nil)
            case .wait: break
            }
        }
        guard let handed else { throw .poolClosed }
        return handed
    }

    /// Hands `slot` to the longest waiter, or keeps it free; closes its connection after a shutdown.
    private func release(_ slot: Slot) {
        enum Next {
            case handOver(CheckedContinuation<Slot?, Never>)
            case kept
            case closed
        }
        let next = state.withLock { state -> Next in
            if state.closed { return .closed }
            if !state.waiters.isEmpty { return .handOver(state.waiters.removeFirst()) }
            state.free.append(slot)
            return .kept
        }
        switch next {
        case .handOver(let waiter): waiter.resume(returning: .some(slot))
        case .kept: break
        case .closed: slot?.close()
        }
    }
}
