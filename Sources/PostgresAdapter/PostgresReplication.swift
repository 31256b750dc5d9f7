/// Whether the primary's commits wait for a standby: what a failover can lose. Synchronous replication
/// (`synchronous_standby_names` set, `synchronous_commit` at `on`, `remote_write` or `remote_apply`)
/// loses nothing acknowledged; without it a promoted standby may lack the last commits.
public struct PostgresReplication: Sendable, Equatable, CustomStringConvertible {
    public var synchronousStandbyNames: String
    public var synchronousCommit: String

    public init(synchronousStandbyNames: String, synchronousCommit: String) {
        self.synchronousStandbyNames = synchronousStandbyNames
        self.synchronousCommit = synchronousCommit
    }

    /// Whether an acknowledged commit is on a standby too.
    public var waitsForStandby: Bool {
        !synchronousStandbyNames.isEmpty && ["on", "remote_write", "remote_apply"].contains(synchronousCommit)
    }

    public var description: String {
        "synchronous_standby_names='\(synchronousStandbyNames)', synchronous_commit=\(synchronousCommit)"
    }
}

extension PostgresPool {
    /// The primary's replication settings (readable by every role).
    public func replication() async throws(PostgresError) -> PostgresReplication {
        let rows = try await query("SELECT current_setting('synchronous_standby_names'), current_setting('synchronous_commit')")
        guard let row = rows.first, let names = row.values[0], let commit = row.values[1] else {
            throw PostgresError(call: "PostgresPool.replication", message: "the server answered no settings")
        }
        return PostgresReplication(synchronousStandbyNames: names, synchronousCommit: commit)
    }
}
