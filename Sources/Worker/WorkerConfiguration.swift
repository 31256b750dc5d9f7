import Coordination
import Logging
import ServerSupport

/// Everything `worker` is told by flags and environment variables (docs/operations.md, "Configuration (worker)").
struct WorkerConfiguration: Sendable {
    /// `POD_NAME`, else the host name.
    var name: WorkerName
    var host = "0.0.0.0"
    var port = 8081
    var controlPlaneURL = "http://127.0.0.1:8080"
    /// Bearer token for the control plane (`AUTH_TOKEN` or `AUTH_TOKEN_FILE`).
    var authToken: String?
    var databaseURL = "postgres://postgres@127.0.0.1:5432/rollcall"
    /// `DATABASE_PASSWORD(_FILE)`: replaces the URL's password.
    var databasePassword: String?
    /// How often the work loop runs its transaction.
    var workInterval: Duration = .seconds(1)
    /// The share of the lease TTL the worker does not trust (clock-rate differences).
    var driftAllowance = 0.1
    var logLevel: Logger.Level = .info
    /// Timeouts and the connection limit of the HTTP server.
    var http = HTTPLimits()
}
