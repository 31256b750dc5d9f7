import Coordination
import Logging
import RollcallClient
import RollcallKafka
import ServerSupport

/// Everything `worker` is told by flags and environment variables (docs/operations.md, "Configuration (worker)").
struct WorkerConfiguration: Sendable {
    /// `POD_NAME`, else the host name.
    var name: WorkerName
    /// `POOL`: the pool on the control plane, and whose tables the worker works.
    var pool: PoolName = .default
    var host = "0.0.0.0"
    var port = 8081
    var controlPlaneURL = "http://127.0.0.1:8080"
    /// Bearer token for the control plane (`AUTH_TOKEN` or `AUTH_TOKEN_FILE`).
    var authToken: String?
    /// AUTH_TOKEN_FILE: read again whenever it changes (a projected service-account token the kubelet
    /// rotates); `authToken` holds what it said at start.
    var authTokenFile: String?
    /// CONTROL_PLANE_CA_FILE (and CONTROL_PLANE_CERT_FILE, CONTROL_PLANE_KEY_FILE): HTTPS to the control
    /// plane, its certificate checked against this CA.
    var controlPlaneTLS: ClientTLS?
    var databaseURL = "postgres://postgres@127.0.0.1:5432/rollcall"
    /// DATABASE_CA_FILE: PostgreSQL over TLS only, its certificate and host name verified (verify-full).
    var databaseCAFile: String?
    /// `DATABASE_PASSWORD(_FILE)`: replaces the URL's password.
    var databasePassword: String?
    /// How often the work loop runs a round.
    var workInterval: Duration = .seconds(1)
    /// Partitions per work transaction (`WORK_BATCH`): a round over more runs one transaction per batch,
    /// so no transaction grows with the partition count or outlasts the statement timeout.
    var workBatch = 64
    /// How often the rows done per partition are reported with a heartbeat (`LOAD_REPORT_INTERVAL`), for
    /// a pool balanced by load (one balanced by count ignores them).
    var loadReportInterval: Duration = .seconds(10)
    /// The share of the lease TTL the worker does not trust (clock-rate differences).
    var driftAllowance = 0.1
    var logLevel: Logger.Level = .info
    /// KAFKA_BROKERS and KAFKA_TOPICS (and TLS, SASL): the lease's consumer group, consumed and recorded
    /// in `kafka_receipts`; nil consumes nothing.
    var kafka: LeaseBoundConsumer.Configuration?
    /// KAFKA_REQUEST_TOPIC: the worker also sends requests whose replies its group reads (request/reply).
    var kafkaRequests: KafkaRequests.Configuration?
    /// Timeouts and the connection limit of the HTTP server.
    var http = HTTPLimits()
}
