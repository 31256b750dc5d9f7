/// A worker's name: the pod name, unique per live worker. 1–253 characters of `[a-z0-9.-]`,
/// the alphabet and length of a Kubernetes DNS subdomain.
public struct WorkerName: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// Validates `rawValue`; nil when it is not a valid worker name.
    public init?(rawValue: String) {
        guard Self.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// Whether `name` is 1–253 characters of `[a-z0-9.-]`.
    public static func isValid(_ name: String) -> Bool {
        let bytes = name.utf8
        return (1...253).contains(bytes.count)
            && bytes.allSatisfy {
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
            }
    }

    /// The rule, as an error message tells it.
    public static let rule = "a worker name is 1-253 characters of [a-z0-9.-]"

    public var description: String { rawValue }
}
