import RedisAdapter

/// Why a lease-store call failed: Redis did, or a script answered something outside its contract.
enum LeaseStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    case redis(RedisError)
    case malformedReply(script: String, reply: String)

    var description: String {
        switch self {
        case .redis(let error): "\(error)"
        case .malformedReply(let script, let reply): "the \(script) script answered outside its contract: \(reply)"
        }
    }
}
