import NIOPosix
import Synchronization

/// Blocking client connections (hiredis, libpq) made usable from async code.
///
/// Each connection sits in a slot behind its own `Mutex`; the blocking calls run on the pool's own
/// `NIOThreadPool`, one thread per slot, never on the Swift concurrency pool, so a slow server
/// cannot starve other tasks and one adapter's pool cannot starve another's. A slot holds nil
/// until its connection is made, and the adapter sets it back to nil when the connection breaks.
public final class BlockingPool<Connection, Failure: Error>: Sendable {
    private final class Slot: Sendable {
        let connection = Mutex<Connection?>(nil)
    }

    private let slots: [Slot]
    private let threads: NIOThreadPool
    private let nextSlot = Atomic<Int>(0)
    private let closedError: Failure

    /// A pool of `size` slots; calls after `shutdown()` throw `closedError`.
    public init(size: Int, closedError: Failure) {
        slots = (0..<max(size, 1)).map { _ in Slot() }
        threads = NIOThreadPool(numberOfThreads: max(size, 1))
        self.closedError = closedError
        threads.start()
    }

    /// Runs `body` on a pool thread with exclusive use of one slot: the first idle one, else it
    /// waits its turn for one. `body` may make, use, or drop (set to nil) the slot's connection.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (inout Connection?) throws(Failure) -> T
    ) async throws(Failure) -> T {
        let start = nextSlot.add(1, ordering: .relaxed).oldValue
        let slots = self.slots
        let result: Result<T, Failure>
        do {
            result = try await threads.runIfActive {
                for offset in 0..<slots.count {
                    let slot = slots[(start &+ offset) % slots.count]
                    if let result = slot.connection.withLockIfAvailable({ connection in
                        Result { () throws(Failure) in try body(&connection) }
                    }) {
                        return result
                    }
                }
                return slots[start % slots.count].connection.withLock { connection in Result { () throws(Failure) in try body(&connection) }
                }
            }
        } catch {
            throw closedError
        }
        return try result.get()
    }

    /// Drops every connection and stops the threads.
    public func shutdown() async {
        for slot in slots { slot.connection.withLock { $0 = nil } }
        try? await threads.shutdownGracefully()
    }
}
