/// A failure talking to PostgreSQL: the libpq call, the server's SQLSTATE when there is one, and its message.
public struct PostgresError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The libpq function (or adapter step) that failed, such as `PQconnectdbParams` or `PQexecParams`.
    public var call: String
    /// The five-character SQLSTATE, such as `23505` for a unique violation; nil for client-side failures.
    public var sqlState: String?
    public var message: String
    public var detail: String?
    /// Whether the connection is gone (it is dropped and made anew on next use).
    public var isConnectionFailure: Bool

    public init(
        call: String, sqlState: String? = nil, message: String, detail: String? = nil, isConnectionFailure: Bool = false,
        failover: Failover? = nil
    ) {
        self.call = call
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.isConnectionFailure = isConnectionFailure
        self.failover = failover
    }

    /// `23505`: a unique constraint was violated.
    public var isUniqueViolation: Bool { sqlState == "23505" }

    /// Whether the server we talk to may no longer be the primary: the connection is gone, the server
    /// refuses writes (`25006`, a demoted primary or a standby), or it is shutting down or starting
    /// (`57P01`–`57P03`). The pool then makes every connection anew, through the host list.
    public var isFailoverSign: Bool {
        isConnectionFailure || ["25006", "57P01", "57P02", "57P03"].contains(sqlState ?? "")
    }

    /// The connection reached a primary on a new timeline: a standby was promoted since the last connection.
    /// Nothing ran; the caller must treat what it wrote before as possibly lost (claims, say) and try again.
    public static func failedOver(from old: String, to new: String) -> PostgresError {
        PostgresError(
            call: "PostgresPool", sqlState: nil,
            message: "PostgreSQL failed over: timeline \(old) -> \(new); nothing ran, retry after re-validating", detail: nil,
            isConnectionFailure: false, failover: Failover(from: old, to: new))
    }

    /// Set on `failedOver` errors.
    public var failover: Failover?

    /// The timelines of a failover.
    public struct Failover: Hashable, Sendable {
        public var from: String
        public var to: String
    }

    public var description: String {
        var text = "\(call) failed"
        if let sqlState { text += " [\(sqlState)]" }
        text += ": \(message)"
        if let detail { text += " (\(detail))" }
        return text
    }

    static let poolClosed = PostgresError(call: "PostgresPool", message: "the Postgres pool is shut down", isConnectionFailure: true)
}
