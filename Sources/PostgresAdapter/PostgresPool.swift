import BlockingPool

/// A small pool of libpq connections, usable from async code; see `BlockingPool`.
/// A broken connection is dropped and made anew on next use; statements are never retried.
///
/// It follows the primary through a failover: any sign that the server may no longer be the primary
/// (`PostgresError.isFailoverSign`) moves the pool's term on, and every connection of an older term is
/// made anew before its next use, through the URL's host list (libpq keeps a server that accepts
/// writes). Each new connection reads the server's timeline; a timeline other than the last one seen
/// means a standby was promoted, and that first call throws `PostgresError.failedOver` without running
/// anything, so the caller can re-validate what it wrote before (the standby may not have had it).
public final class PostgresPool: Sendable {
    public let configuration: PostgresConfiguration
    private let pool: BlockingPool<LibPQConnection, PostgresError>
    private let primary: PostgresPrimary

    public init(configuration: PostgresConfiguration) {
        self.configuration = configuration
        let primary = PostgresPrimary()
        self.primary = primary
        self.pool = BlockingPool(
            size: configuration.poolSize, closedError: .poolClosed,
            connect: { () throws(PostgresError) in try primary.connect(configuration) },
            isBroken: { connection in !connection.isHealthy || !primary.isCurrent(connection) })
    }

    /// The timeline of the primary the pool last connected to, nil before the first connection (or when
    /// the server would not say).
    public var timeline: String? { primary.timeline }

    /// After a failure: a sign of a failover makes every connection anew.
    private func noted(_ error: PostgresError) -> PostgresError {
        primary.noted(error)
        return error
    }

    /// Runs one statement (in its own implicit transaction) with `$1, $2, …` parameters.
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) async throws(PostgresError) -> PostgresRows {
        let texts = parameters.map { $0?.postgresText }
        do {
            return try await pool.withConnection { connection throws(PostgresError) in try connection.execute(sql, texts) }
        } catch {
            throw noted(error)
        }
    }

    /// Runs `body` inside BEGIN … COMMIT on one connection; any error thrown rolls it back and is rethrown.
    ///
    /// `body` runs synchronously on the pool's thread: it must not keep the transaction handle.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresTransaction) throws -> T) async throws -> T {
        let outcome: Result<T, any Error>
        do {
            outcome = try await run(body)
        } catch {
            throw noted(error)
        }
        if case .failure(let error as PostgresError) = outcome { _ = noted(error) }
        return try outcome.get()
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (PostgresTransaction) throws -> T) async throws(PostgresError) -> Result<
        T, any Error
    > {
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
        }
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
