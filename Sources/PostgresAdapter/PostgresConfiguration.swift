/// Where and how to connect. The URL is handed to libpq, which parses `postgres://` URIs itself,
/// several hosts among them (`postgres://u:p@db-a:5432,db-b:5432/inbox`): libpq tries them in order and,
/// by default here, keeps only a server that accepts writes (`target_session_attrs=read-write`), so
/// after a failover the pool reaches the promoted standby. The URL's own `target_session_attrs` wins.
public struct PostgresConfiguration: Sendable, Hashable {
    /// `postgres://user:password@host:port/database?options`.
    public var url: String
    /// Replaces the URL's password when set (libpq applies keywords after the expanded URL over it).
    public var password: String?
    /// How long a connect may take (libpq's `connect_timeout`, whole seconds, at least 2).
    public var connectTimeout: Duration
    /// The server cancels any statement running longer (`statement_timeout`).
    public var statementTimeout: Duration
    /// The server ends a session that sits this long inside a transaction without sending anything
    /// (`idle_in_transaction_session_timeout`): a worker paused or cut off mid-transaction would otherwise
    /// hold its claim rows' locks, and so block the new owner's claim, until TCP gives up (hours).
    public var idleInTransactionTimeout: Duration
    /// Connections in the pool, each with its own blocking thread.
    public var poolSize: Int
    /// DATABASE_CA_FILE: TLS required, the server's certificate checked against this CA and its host
    /// name against the URL's (`sslmode=verify-full`), whatever the URL says.
    public var caFile: String?

    public init(
        url: String, password: String? = nil, connectTimeout: Duration = .seconds(5), statementTimeout: Duration = .seconds(10),
        idleInTransactionTimeout: Duration = .seconds(5), poolSize: Int = 2
    ) {
        self.url = url
        self.password = password
        self.connectTimeout = connectTimeout
        self.statementTimeout = statementTimeout
        self.idleInTransactionTimeout = idleInTransactionTimeout
        self.poolSize = max(poolSize, 1)
    }

    /// libpq keywords and values; the expanded URL overrides the entries before it, and the password after it
    /// overrides the URL's.
    var connectionParameters: [(String, String)] {
        let (seconds, _) = connectTimeout.components
        let millis = { (duration: Duration) in duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        }
        return [
            ("connect_timeout", String(max(seconds, 2))),
            // A dead peer is noticed within seconds, not after the kernel's two-hour keepalive default.
            ("keepalives", "1"),
            ("keepalives_idle", "5"),
            ("keepalives_interval", "2"),
            ("keepalives_count", "3"),
            ("tcp_user_timeout", "10000"),
            (
                "options",
                "-c statement_timeout=\(millis(statementTimeout)) -c idle_in_transaction_session_timeout=\(millis(idleInTransactionTimeout))"
            ),
            ("application_name", "rollcall"),
            ("target_session_attrs", "read-write"),
            ("dbname", url),
        ] + (password.map { [("password", $0)] } ?? []) + (caFile.map { [("sslmode", "verify-full"), ("sslrootcert", $0)] } ?? [])
    }
}
