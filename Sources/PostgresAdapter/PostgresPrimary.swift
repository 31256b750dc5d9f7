import Synchronization

/// Which primary the pool's connections belong to (`PostgresPool`): a term that moves on whenever a
/// call shows the server may no longer be the primary, and the timeline the last connection found.
final class PostgresPrimary: Sendable {
    private struct State {
        var term = 0
        /// The primary's timeline (hex, as in WAL file names).
        var timeline: String?
    }

    private let state = Mutex(State())

    var timeline: String? { state.withLock { $0.timeline } }

    /// Whether `connection` was made in the current term.
    func isCurrent(_ connection: LibPQConnection) -> Bool { connection.term == state.withLock { $0.term } }

    /// A sign of a failover (`PostgresError.isFailoverSign`) moves the term on.
    func noted(_ error: PostgresError) {
        if error.isFailoverSign { state.withLock { $0.term += 1 } }
    }

    /// A new connection stamped with the current term. It reads the server's timeline: the first 8 hex
    /// digits of the current WAL file's name (both functions are open to every role, unlike
    /// pg_control_checkpoint()); a server that cannot say (a standby the URL allowed) counts as no news.
    /// A timeline other than the last one seen throws `failedOver` (after moving the term on): a standby
    /// was promoted, and it may not have had the old primary's last commits.
    func connect(_ configuration: PostgresConfiguration) throws(PostgresError) -> LibPQConnection {
        let connection = try LibPQConnection(configuration)
        let timeline =
            (try? connection.execute("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)", []))?.first?.values.first ?? nil
        let (term, failover) = state.withLock { state -> (Int, PostgresError.Failover?) in
            guard let timeline, let known = state.timeline, known != timeline else {
                if let timeline { state.timeline = timeline }
                return (state.term, nil)
            }
            state.timeline = timeline
            state.term += 1
            return (state.term, PostgresError.Failover(from: known, to: timeline))
        }
        connection.term = term
        if let failover { throw .failedOver(from: failover.from, to: failover.to) }
        return connection
    }
}
