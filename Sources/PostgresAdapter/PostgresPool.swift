import BlockingPool

/// A small pool of libpq connections, usable from async code; see `BlockingPool`.
/// A broken connection is dropped and made anew on next use; statements are never retried.
public final class PostgresPool: Sendable {
    public let configuration: PostgresConfiguration
    private let pool: BlockingPool<LibPQConnection, PostgresError>

    public init(configuration: PostgresConfiguration) {
        self.configuration = configuration
        self.pool = BlockingPool(
            size: configuration.poolSize, closedError: .poolClosed,
            connect: { () throws(PostgresError) in try LibPQConnection(configuration) }, isBroken: { !$0.isHealthy })
    }

    /// Runs one statement (in its own implicit transaction) with `$1, $2, …` parameters.
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) async throws(PostgresError) -> PostgresRows {
        let texts = parameters.map { $0?.postgresText }
        return try await pool.withConnection { connection throws(PostgresError) in try connection.execute(sql, texts) }
    }

    /// Runs `body` inside BEGIN … COMMIT on one connection; any error thrown rolls it back and is rethrown.
    ///
    /// `body` runs synchronously on the pool's thread: it must not keep the transaction handle.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresTransaction) throws -> T) async throws -> T {
        try await pool.withConnection { connection throws(PostgresError) -> Result<T, any Error> in
            _ = try connection.execute("BEGIN", [])
            do {
                let value = try body(PostgresTransaction(connection: connection))
                _ = try connection.execute("COMMIT", [])
                return .success(value)
            } catch {
                if connection.isHealthy { _ = try? connection.execute("ROLLBACK", []) }
                if let error = error as? PostgresError, error.isConnectionFailure { throw error }
                return .failure(error)
            }
        }.get()
    }

    /// Closes every connection and stops the pool's threads; later calls throw.
    public func shutdown() async { await pool.shutdown() }
}

/// The statements of one transaction. Valid only inside the `transaction` body that received it.
public struct PostgresTransaction {
    fileprivate let connection: LibPQConnection

    /// Runs one statement of the transaction.
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws(PostgresError) -> PostgresRows {
        try connection.execute(sql, parameters.map { $0?.postgresText })
    }
}
