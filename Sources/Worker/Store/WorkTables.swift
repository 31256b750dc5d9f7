import Coordination

/// The names of one pool's tables, qualified for SQL, and the migrations that create them.
struct WorkTables: Sendable, Hashable {
    /// `work_items`, or `"pool".work_items`.
    let items: String
    /// `partition_owners`, or `"pool".partition_owners`.
    let owners: String
    /// `kafka_receipts`: every Kafka record a worker consumed, with the lease it consumed it under.
    let receipts: String
    /// `kafka_group_owners`: which number's lease holds each consumer group, fencing receipts by epoch.
    let groupOwners: String
    /// The pool's schema; nil for the default pool (the connection's search path, `public` by default).
    let schema: String?

    init(pool: PoolName) {
        // A pool name is a DNS-1123 label: quoted, it is a valid identifier as it is (at most 63 bytes).
        schema = pool == .default ? nil : "\"\(pool.rawValue)\""
        let qualifier = schema.map { $0 + "." } ?? ""
        items = qualifier + "work_items"
        owners = qualifier + "partition_owners"
        receipts = qualifier + "kafka_receipts"
        groupOwners = qualifier + "kafka_group_owners"
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
            """
            CREATE TABLE IF NOT EXISTS \(groupOwners) (
                group_name text PRIMARY KEY, number int NOT NULL, worker text NOT NULL, epoch bigint NOT NULL,
                claimed_at timestamptz NOT NULL)
            """,
            // A record delivered again (after a handoff, at least once) is a second row under the later epoch.
            """
            CREATE TABLE IF NOT EXISTS \(receipts) (
                group_name text NOT NULL, topic text NOT NULL, partition int NOT NULL, "offset" bigint NOT NULL,
                worker text NOT NULL, number int NOT NULL, epoch bigint NOT NULL, received_at timestamptz NOT NULL,
                PRIMARY KEY (group_name, topic, partition, "offset", epoch))
            """,
        ]
    }
}
