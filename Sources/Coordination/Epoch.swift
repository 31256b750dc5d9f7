/// A fencing token: strictly increasing across every lease grant ever made, also across a Redis failover.
///
/// Layout: a non-negative `Int64`. The control plane grants `max(last + 1, Redis TIME in µs since
/// the Unix epoch)`, so a primary promoted after a failover, which may have lost the newest grants,
/// still issues larger epochs than any earlier grant (as long as its clock is not far behind).
/// Read as microseconds, an epoch is never earlier than the moment it was granted.
public struct Epoch: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: Int64

    public init(rawValue: Int64) { self.rawValue = rawValue }

    public static func < (lhs: Epoch, rhs: Epoch) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(Int64.self)
        guard value >= 0 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "an epoch is never negative"))
        }
        rawValue = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { String(rawValue) }
}
