import RedisAdapter

/// Why a lease-store call failed: Redis did, or a script answered something outside its contract.
enum LeaseStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    case redis(RedisError)
    case malformedReply(script: String, reply: String)

    /// `malformedReply` for what `script` (a script's or a command's name) answered, shortened to 200 characters.
    static func malformed(_ script: String, _ reply: RedisValue) -> LeaseStoreError {
        .malformedReply(script: script, reply: String(String(describing: reply).prefix(200)))
    }

    var description: String {
        switch self {
        case .redis(let error): "\(error)"
        case .malformedReply(let script, let reply): "the \(script) script answered outside its contract: \(reply)"
        }
    }
}
