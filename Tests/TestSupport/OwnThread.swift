import Foundation

/// Runs a blocking `body` (sockets, posix_spawn and waitpid) on a thread of its own and awaits its
/// result, so it never holds one of the few threads of the concurrency pool that the servers under test
/// (their reapers, their heartbeats) need. A bash helper that takes seconds to start six servers would
/// otherwise stall every other test running beside it.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
