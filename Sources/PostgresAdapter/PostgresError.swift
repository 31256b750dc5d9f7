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

    public init(call: String, sqlState: String? = nil, message: String, detail: String? = nil, isConnectionFailure: Bool = false) {
        self.call = call
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.isConnectionFailure = isConnectionFailure
    }

    /// `23505`: a unique constraint was violated.
    public var isUniqueViolation: Bool { sqlState == "23505" }

    public var description: String {
        var text = "\(call) failed"
        if let sqlState { text += " [\(sqlState)]" }
        text += ": \(message)"
        if let detail { text += " (\(detail))" }
        return text
    }

    static let poolClosed = PostgresError(call: "PostgresPool", message: "the Postgres pool is shut down", isConnectionFailure: true)
}
