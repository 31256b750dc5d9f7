/// The lease store's generation: which Redis process wrote the lease state, and since when, as
/// `runID:microseconds` (hex digits, a colon, decimal digits). A new one means Redis may have lost
/// writes (a restart, a failover, a wipe) and begins recovery. Only the lease scripts make one
/// (`checkStore` in `lua/includes/recovery.lua`); clients send back the last they were told. On the
/// wire it is a JSON string. It holds any string; `isWellFormed` checks its form.
public struct Generation: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    public init(stringLiteral value: String) { rawValue = value }

    /// 1–128 bytes of lowercase hex digits and colons: what a store could have made.
    public var isWellFormed: Bool {
        (1...128).contains(rawValue.utf8.count) && rawValue.utf8.allSatisfy { Self.alphabet.contains($0) }
    }

    private static let alphabet = Set("0123456789abcdef:".utf8)

    public var description: String { rawValue }
}
