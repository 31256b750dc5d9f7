/// A worker's name: the pod name, unique per live worker. A Kubernetes DNS-1123 subdomain: at most
/// 253 characters, dot-separated labels of lowercase letters, digits and `-`, each label starting and
/// ending with a letter or digit (so `.`, `..`, `-a` and `a.` are not names).
public struct WorkerName: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// Validates `rawValue`; nil when it is not a valid worker name.
    public init?(rawValue: String) {
        guard Self.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// Whether `name` is a DNS-1123 subdomain.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...253).contains(bytes.count) else { return false }
        return bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { label in
            guard let first = label.first, let last = label.last, isAlphanumeric(first), isAlphanumeric(last) else { return false }
            return label.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// The rule, as an error message tells it.
    public static let rule =
        "a worker name is a DNS-1123 subdomain: at most 253 characters, dot-separated labels of [a-z0-9-], each starting and ending with [a-z0-9]"

    public var description: String { rawValue }
}
