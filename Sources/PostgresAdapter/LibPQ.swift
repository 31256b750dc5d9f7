import CLibPQ

#if canImport(Glibc)
    import Glibc
#else
    #error("Rollcall builds on Linux only: its C adapters use Glibc and Debian's libpq-dev")
#endif

/// One blocking libpq connection. The only code that imports `CLibPQ`: every failure becomes a
/// `PostgresError` naming the call, with the server's SQLSTATE; no pointer leaves this file.
///
/// Not thread-safe; `PostgresPool` keeps each one behind a `Mutex` and uses it from one thread at a time.
final class LibPQConnection {
    private let connection: OpaquePointer
    /// The pool's term when this connection was made (`PostgresPool`): a failover moves the term on and
    /// every older connection is made anew.
    var term = 0

    init(_ configuration: PostgresConfiguration) throws(PostgresError) {
        let parameters = configuration.connectionParameters
        let keywords = parameters.map { strdup($0.0)! }
        let values = parameters.map { strdup($0.1)! }
        defer { (keywords + values).forEach { free($0) } }
        var keywordPointers = keywords.map { UnsafePointer<CChar>?(UnsafePointer($0)) } + [nil]
        var valuePointers = values.map { UnsafePointer<CChar>?(UnsafePointer($0)) } + [nil]
        guard let connection = PQconnectdbParams(&keywordPointers, &valuePointers, 1) else {
            throw PostgresError(call: "PQconnectdbParams", message: "out of memory", isConnectionFailure: true)
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.message(PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgresError(call: "PQconnectdbParams", message: message, isConnectionFailure: true)
        }
        // Notices ("relation already exists, skipping") are not errors; keep them off stderr.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        self.connection = connection
    }

    deinit { PQfinish(connection) }

    /// Whether the connection is still usable.
    var isHealthy: Bool { PQstatus(connection) == CONNECTION_OK }

    /// Runs `sql` with text-format parameters (nil is NULL) and returns its rows.
    func execute(_ sql: String, _ parameters: [String?]) throws(PostgresError) -> PostgresRows {
        let copies = parameters.map { $0.map { strdup($0)! } }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { $0.map { UnsafePointer<CChar>?(UnsafePointer($0)) } ?? nil }
        guard let result = PQexecParams(connection, sql, Int32(parameters.count), nil, pointers, nil, nil, 0) else {
            throw PostgresError(call: "PQexecParams", message: Self.message(PQerrorMessage(connection)), isConnectionFailure: !isHealthy)
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.rows(result)
        default:
            let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            throw PostgresError(
                call: "PQexecParams",
                sqlState: PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) },
                message: primary ?? Self.message(PQresultErrorMessage(result)),
                detail: PQresultErrorField(result, Int32(UInt8(ascii: "D"))).map { String(cString: $0) },
                isConnectionFailure: !isHealthy
            )
        }
    }

    private static func rows(_ result: OpaquePointer) -> PostgresRows {
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        let rows = (0..<Int(PQntuples(result))).map { row in
            PostgresRow(
                columns: columns,
                values: (0..<columnCount).map { column in
                    PQgetisnull(result, Int32(row), Int32(column)) == 1
                        ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
                }
            )
        }
        return PostgresRows(columns: columns, rows: rows, affectedRows: Int(String(cString: PQcmdTuples(result))) ?? 0)
    }

    private static func message(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "unknown error" }
        // libpq ends its messages with a newline.
        var message = Substring(String(cString: text))
        while let last = message.last, last.isWhitespace { message.removeLast() }
        return String(message)
    }
}
