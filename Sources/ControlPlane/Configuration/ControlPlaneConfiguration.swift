import Logging
import ServerSupport

/// Everything the control plane is configured with; `ControlPlaneCommand` fills it from flags and environment.
struct ControlPlaneConfiguration: Sendable {
    var host = "0.0.0.0"
    var port = 8080
    var redisURL = "redis://127.0.0.1:6379"
    var redisCommandTimeout: Duration = .seconds(1)
    var redisPoolSize = 8
    /// Prepended to every Redis key; lets several installations (or tests) share one Redis.
    var keyPrefix = ""
    /// With a token, every route but /healthz, /readyz and /metrics needs `Authorization: Bearer <token>`.
    var authToken: String? = nil
    var lease = LeaseSettings()
    var reapInterval: Duration = .milliseconds(250)
    var rebalanceInterval: Duration = .milliseconds(100)
    var leaderLease: Duration = .seconds(3)
    var logLevel: Logger.Level = .info
    /// Timeouts and the connection limit of the HTTP server.
    var http = HTTPLimits()
}
