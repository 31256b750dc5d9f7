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
    /// The node is not (or no longer, or not yet) a usable primary: a `READONLY` or `LOADING` reply, or
    /// ROLE said replica. Nothing ran; the connection is dropped and the next one asks the Sentinels.
    case notPrimary(address: String, message: String)
    /// A script's writes reached fewer replicas than required within the WAIT timeout. They did run on
    /// the primary; the caller must not act on the answer.
    case notReplicated(acknowledged: Int, required: Int)
    /// With Sentinels: no majority of them named this node the primary within the primary lease (a
    /// failover under way, or too few Sentinels answering). Nothing was sent.
    case primaryUnconfirmed(address: String, message: String)
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
        case .notPrimary(let address, let message): "\(address) is not a usable primary: \(message)"
        case .notReplicated(let acknowledged, let required):
            "the change reached \(acknowledged) of the \(required) replicas required (WAIT timed out)"
        case .primaryUnconfirmed(let address, let message): "\(address) is not confirmed as the primary: \(message)"
        case .poolClosed: "the Redis pool is shut down"
        }
    }
}
