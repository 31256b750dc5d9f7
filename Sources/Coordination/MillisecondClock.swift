#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Wall-clock milliseconds since the Unix epoch; injected so tests can step the clock.
public protocol MillisecondClock: Sendable {
    func currentMillis() -> Int64
}

/// The system's real-time clock.
public struct SystemMillisecondClock: MillisecondClock {
    public init() {}

    public func currentMillis() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
