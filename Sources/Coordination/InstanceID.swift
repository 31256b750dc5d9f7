/// The random id a worker process makes at start: 1–64 characters of `[A-Za-z0-9._-]`. It tells two
/// processes with one name apart, so a restarted pod cannot renew the lease of its previous life. On
/// the wire it is a JSON string. It holds any string, so a request with a malformed one can be
/// refused by name (`invalid_instance`); `isValid` says whether it follows the rule.
public struct InstanceID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    public init(stringLiteral value: String) { rawValue = value }

    /// Whether it follows `rule`.
    public var isValid: Bool { Self.isValid(rawValue) }

    /// Whether `text` is a valid instance id.
    public static func isValid(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { isAllowed($0) || $0 == UInt8(ascii: "_") }
    }

    public static let rule = "an instance id is 1-64 characters of [A-Za-z0-9._-]"

    public var description: String { rawValue }
}
