import Coordination

/// Why a heartbeat got no grant.
public enum HeartbeatFailure: Error, Hashable, Sendable {
    /// 409: another live instance holds the name; it may be free after `retryAfter`.
    case conflict(retryAfter: Duration?)
    /// 503: no number is free, or the control plane cannot reach Redis.
    case unavailable(retryAfter: Duration?, message: String)
    /// 503 `recovering`: the lease store lost state and waits it out; a lease the worker claimed was not
    /// given back, so it is lost now.
    case recovering(retryAfter: Duration?)
    /// 429: this caller is over its rate limit; nothing is sent again before `retryAfter`.
    case throttled(retryAfter: Duration?)
    /// 409 `stale_request`: a newer request of this instance was applied first; this one changed nothing.
    case stale
    /// Another 4xx or 5xx: the request or the configuration is wrong; retried slowly, never fatal.
    case refused(status: Int, message: String)
    /// No answer: connection refused, timeout, or a body that is not a heartbeat response.
    case transport(String)
}
