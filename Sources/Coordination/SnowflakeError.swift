/// Why no id was issued.
public enum SnowflakeError: Error, Hashable, Sendable {
    /// The clock went back by more than the generator waits out.
    case clockMovedBackwards(millis: Int64)
    /// The clock is before the id origin, or past what 41 bits hold.
    case timestampOutOfRange(millisSinceOrigin: Int64)
    /// More ids were asked for at once than one call issues.
    case countOutOfRange(Int)
}
