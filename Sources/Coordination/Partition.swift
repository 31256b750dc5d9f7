/// A partition index: `0..<partitionCount` of the inbox; a key's partition is
/// `XXH64(utf8(key), seed 0) mod partitionCount` (`Partitioner`). A type of its own so a partition is
/// never taken for a worker number or a count where the two meet. On the wire it is a JSON integer.
/// It holds any integer: whether one lies in range depends on the partition count, which the control
/// plane checks (`invalid_held`).
public struct Partition: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    public let rawValue: Int

    public init(rawValue: Int) { self.rawValue = rawValue }

    public init(_ index: Int) { rawValue = index }

    public init(integerLiteral value: Int) { rawValue = value }

    public static func < (lhs: Partition, rhs: Partition) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}
