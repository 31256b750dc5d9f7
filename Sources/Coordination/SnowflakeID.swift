/// A 64-bit Snowflake id: `0 | 41 bits ms since the id origin | 10 bits worker number | 12 bits sequence`.
///
/// Ids of one worker number increase strictly; ids of two numbers never collide. On the wire an
/// id is a decimal string, because JSON numbers lose precision past 2^53 in many clients.
public struct SnowflakeID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public static let timestampBits = 41
    public static let workerBits = 10
    public static let sequenceBits = 12
    /// 4,096 ids per millisecond per worker.
    public static let maxSequence = (1 << sequenceBits) - 1
    /// The last millisecond 41 bits hold: about 69.7 years after the id origin.
    public static let maxTimestamp: Int64 = (1 << Int64(timestampBits)) - 1
    /// 2024-01-01T00:00:00Z, the default id origin.
    public static let defaultOriginMillis: Int64 = 1_704_067_200_000

    public let rawValue: Int64

    public init(rawValue: Int64) { self.rawValue = rawValue }

    /// Packs the three fields; each must be within its bit range.
    public init(millisSinceOrigin: Int64, workerNumber: WorkerNumber, sequence: Int) {
        precondition((0...Self.maxTimestamp).contains(millisSinceOrigin) && (0...Self.maxSequence).contains(sequence))
        rawValue =
            millisSinceOrigin << Int64(Self.workerBits + Self.sequenceBits) | Int64(workerNumber.rawValue) << Int64(Self.sequenceBits)
            | Int64(sequence)
    }

    /// Milliseconds since the generator's id origin.
    public var millisSinceOrigin: Int64 { rawValue >> Int64(Self.workerBits + Self.sequenceBits) }
    /// The worker number that issued the id.
    public var workerNumber: WorkerNumber {
        WorkerNumber(rawValue: Int(rawValue >> Int64(Self.sequenceBits)) & WorkerNumber.range.upperBound)!
    }
    /// The id's place within its millisecond.
    public var sequence: Int { Int(rawValue) & Self.maxSequence }

    public static func < (lhs: SnowflakeID, rhs: SnowflakeID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Int64(text), value >= 0 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a Snowflake id: \(text)"))
        }
        rawValue = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public var description: String { String(rawValue) }
}
