/// One Redis reply. Top-level error replies are thrown as `RedisError.reply`; an error nested in
/// an array (from EXEC, say) stays a value.
public enum RedisValue: Hashable, Sendable {
    case simpleString(String)
    /// Binary safe: the bytes exactly as stored.
    case bulkString([UInt8])
    case integer(Int64)
    case array([RedisValue])
    case null
    case error(String)

    /// The text of a simple or bulk string (bulk bytes decoded as UTF-8, with replacement).
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// The bytes of a bulk or simple string.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): bytes
        case .simpleString(let text): Array(text.utf8)
        default: nil
        }
    }

    /// An integer reply, or a string that holds a decimal integer.
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .bulkString, .simpleString: string.flatMap { Int64($0) }
        default: nil
        }
    }

    /// The elements of an array reply.
    public var array: [RedisValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }
}

extension RedisValue: CustomStringConvertible {
    /// Readable, for errors and logs: strings quoted (bulk bytes as UTF-8), arrays in brackets.
    public var description: String {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes): "\"\(String(decoding: bytes, as: UTF8.self))\""
        case .integer(let value): "\(value)"
        case .array(let elements): "[" + elements.map(\.description).joined(separator: ", ") + "]"
        case .null: "nil"
        case .error(let message): "(error) \(message)"
        }
    }
}
