import NIOPosix
import Synchronization

/// Blocking client connections (hiredis, libpq) made usable from async code.
///
/// Each connection sits in a slot behind its own `Mutex`; the blocking calls run on the pool's own
/// `NIOThreadPool`, one thread per slot, never on the Swift concurrency pool, so a slow server
/// cannot starve other tasks and one adapter's pool cannot starve another's. A slot's connection
/// is made on first use, and dropped (to be made anew) when it reports itself broken before a use.
public final class BlockingPool<Connection, Failure: Error>: Sendable {
    private final class Slot: Sendable {
        let connection = Mutex<Connection?>(nil)
    }

    private let slots: [Slot]
    private let threads: NIOThreadPool
    private let nextSlot = Atomic<Int>(0)
    private let closedError: Failure
    private let connect: @Sendable () throws(Failure) -> Connection
    private let isBroken: @Sendable (Connection) -> Bool

    /// A pool of `size` slots whose connections `connect` makes; a connection for which `isBroken` holds
    /// when it is next needed is dropped and replaced. Calls after `shutdown()` throw `closedError`.
    public init(
        size: Int, closedError: Failure, connect: @escaping @Sendable () throws(Failure) -> Connection,
        isBroken: @escaping @Sendable (Connection) -> Bool
    ) {
        slots = (0..<max(size, 1)).map { _ in Slot() }
        threads = NIOThreadPool(numberOfThreads: max(size, 1))
        self.closedError = closedError
        self.connect = connect
        self.isBroken = isBroken
        threads.start()
    }

    /// Runs `body` on a pool thread with exclusive use of one connection: the first idle slot's, else
    /// it waits its turn for one. A failure to connect is thrown without running `body`.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (Connection) throws(Failure) -> T
    ) async throws(Failure) -> T {
        let start = nextSlot.add(1, ordering: .relaxed).oldValue
        let slots = self.slots
        let (connect, isBroken) = (self.connect, self.isBroken)
        let use: @Sendable (inout Connection?) -> Result<T, Failure> = { slot in
            Result { () throws(Failure) -> T in
                let connection: Connection
                // Checked before each use only: that also catches what the previous use broke, and a
                // check after the use as well would cost every call a second syscall for nothing.
                if let existing = slot, !isBroken(existing) {
                    connection = existing
                } else {
                    slot = nil
                    connection = try connect()
                    slot = connection
                }
                return try body(connection)
            }
        }
        let result: Result<T, Failure>
        do {
            result = try await threads.runIfActive {
                for offset in 0..<slots.count {
                    let slot = slots[(start &+ offset) % slots.count]
                    if let result = slot.connection.withLockIfAvailable({ use(&$0) }) { return result }
                }
                return slots[start % slots.count].connection.withLock { use(&$0) }
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
