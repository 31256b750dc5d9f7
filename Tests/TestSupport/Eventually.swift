/// The test suite's one wait: polls `condition` every `step` until it holds and returns how long that
/// took, a measurement to print, never to compare with a limit. `limit` is only when to give up on a
/// hung system: past it, `EventuallyTimeout` names `what` and the last error the condition threw (an
/// error counts as "not yet": a server that is restarting answers with one).
@discardableResult
public func eventually(
    _ what: String = "the condition", within limit: Duration = .seconds(60), every step: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async throws -> Duration {
    let clock = ContinuousClock()
    let start = clock.now
    var lastError: (any Error)?
    while true {
        do {
            if try await condition() { return clock.now - start }
            lastError = nil
        } catch {
            lastError = error
        }
        if clock.now - start >= limit { throw EventuallyTimeout(what: what, limit: limit, lastError: lastError) }
        try await Task.sleep(for: step)
    }
}

/// `eventually` gave up.
public struct EventuallyTimeout: Error, CustomStringConvertible {
    public let what: String
    public let limit: Duration
    public let lastError: (any Error)?

    public var description: String {
        "\(what): not within \(limit)" + (lastError.map { "; the last attempt failed: \($0)" } ?? "")
    }
}
