/// The name of a pool: one fleet (usually one Deployment) with its own numbers, partitions and layout.
/// A DNS-1123 label, so it fits in a Kubernetes name, a metric label and a Redis hash tag as it is.
public struct PoolName: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: String

    /// Validates `rawValue`; nil when it is not a DNS-1123 label.
    public init?(rawValue: String) {
        guard Self.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// The pool of a deployment without a pools file, whose routes and Redis keys are today's unchanged.
    public static let `default` = PoolName(rawValue: "default")!

    /// Whether `name` is a DNS-1123 label: 1 to 63 of [a-z0-9-], starting and ending with [a-z0-9].
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count), let first = bytes.first, let last = bytes.last else { return false }
        guard isAlphanumeric(first), isAlphanumeric(last) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// The rule, as an error message tells it.
    public static let rule = "a pool name is a DNS-1123 label: 1 to 63 characters of [a-z0-9-], starting and ending with [a-z0-9]"

    public var description: String { rawValue }

    public static func < (lhs: PoolName, rhs: PoolName) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let name = PoolName(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: Self.rule))
        }
        self = name
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
