/// A worker's number: `0...1023`, leased to at most one live worker at a time, lowest free first.
///
/// It is the worker's Snowflake worker id (10 bits, `SnowflakeID.workerBits`) and the suffix of its
/// Kafka consumer group, so its range is the Snowflake layout's. On the wire it is a JSON integer.
public struct WorkerNumber: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    /// Every number a worker can hold.
    public static let range = 0...((1 << SnowflakeID.workerBits) - 1)

    public let rawValue: Int

    /// Nil outside `range`.
    public init?(rawValue: Int) {
        guard Self.range.contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// A literal number; it must lie in `range`.
    public init(integerLiteral value: Int) {
        precondition(Self.range.contains(value), "a worker number is in \(Self.range), got \(value)")
        rawValue = value
    }

    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(Int.self)
        guard let number = WorkerNumber(rawValue: value) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "a worker number is in \(Self.range), got \(value)"))
        }
        self = number
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static func < (lhs: WorkerNumber, rhs: WorkerNumber) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}
