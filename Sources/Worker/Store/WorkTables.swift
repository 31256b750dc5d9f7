import Coordination

/// The names of one pool's tables, qualified for SQL, and the migrations that create them.
struct WorkTables: Sendable, Hashable {
    /// `work_items`, or `"pool".work_items`.
    let items: String
    /// `partition_owners`, or `"pool".partition_owners`.
    let owners: String
    /// The pool's schema; nil for the default pool (the connection's search path, `public` by default).
    let schema: String?

    init(pool: PoolName) {
        // A pool name is a DNS-1123 label: quoted, it is a valid identifier as it is (at most 63 bytes).
        schema = pool == .default ? nil : "\"\(pool.rawValue)\""
        let qualifier = schema.map { $0 + "." } ?? ""
        items = qualifier + "work_items"
        owners = qualifier + "partition_owners"
    }

    /// Creates what is missing; never drops or recreates.
    var migrations: [String] {
        (schema.map { ["CREATE SCHEMA IF NOT EXISTS \($0)"] } ?? []) + [
            """
            CREATE TABLE IF NOT EXISTS \(items) (
                id uuid PRIMARY KEY, partition int NOT NULL, value int NOT NULL DEFAULT 0,
                current_worker text, updated_at timestamptz)
            """,
            "CREATE INDEX IF NOT EXISTS work_items_partition_idx ON \(items) (partition)",
            """
            CREATE TABLE IF NOT EXISTS \(owners) (
                partition int PRIMARY KEY, number int, worker text, epoch bigint NOT NULL, claimed_at timestamptz)
            """,
        ]
    }
}
