/// A failure talking to Redis. Each case that comes from hiredis names the call that failed.
public enum RedisError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The URL is not `redis://[[user]:password@]host[:port][/db]`.
    case invalidURL(String, reason: String)
    /// No connection could be made (refused, unreachable, timed out, or AUTH/SELECT refused).
    case connectFailed(address: String, call: String, message: String)
    /// The connection broke while a command was under way; the command may or may not have run.
    case connectionLost(call: String, message: String)
    /// No reply within the command timeout; the connection is dropped and made anew on next use.
    case timeout(call: String, message: String)
    /// hiredis reported another failure (protocol error, out of memory).
    case client(call: String, message: String)
    /// Redis answered with an error reply, such as `NOSCRIPT ...` or `WRONGTYPE ...`.
    case reply(String)
    /// The pool was shut down.
    case poolClosed

    public var description: String {
        switch self {
        case .invalidURL(let url, let reason): "invalid Redis URL \(url): \(reason)"
        case .connectFailed(let address, let call, let message): "\(call) to \(address) failed: \(message)"
        case .connectionLost(let call, let message): "\(call): connection lost: \(message)"
        case .timeout(let call, let message): "\(call): timed out: \(message)"
        case .client(let call, let message): "\(call) failed: \(message)"
        case .reply(let message): "Redis error reply: \(message)"
        case .poolClosed: "the Redis pool is shut down"
        }
    }
}
