import Coordination
import Foundation
import Partitioning
import PostgresAdapter

/// The worker's tables in Postgres: idempotent migrations, seeding, fenced claims and the work transaction.
///
/// Every write that depends on ownership is fenced by the partition's grant epoch: a claim only
/// replaces an older (or the same) grant, and the work transaction first locks the claim rows at the
/// worker's epochs `FOR SHARE`, so a newer claim waits for it, and after that claim it matches nothing.
///
/// The `default` pool's tables are `work_items` and `partition_owners` as they always were (in the
/// connection's search path); every other pool's are in a schema named after the pool, so two pools'
/// partition 3 are two rows and their claims never fence each other.
struct WorkStore: Sendable {
    let pool: PostgresPool
    let tables: WorkTables

    init(configuration: WorkerConfiguration) {
        var database = PostgresConfiguration(url: configuration.databaseURL, password: configuration.databasePassword, poolSize: 3)
        database.caFile = configuration.databaseCAFile
        pool = PostgresPool(configuration: database)
        tables = WorkTables(pool: configuration.pool)
    }

    /// Creates what is missing; never drops or recreates. Serialized by an advisory lock, so workers
    /// starting together do not race on `CREATE … IF NOT EXISTS`.
    func migrate() async throws {
        try await pool.transaction { tx in
            try tx.query("SELECT pg_advisory_xact_lock(72616)")
            for statement in tables.migrations { try tx.query(statement) }
        }
    }

    /// Inserts `items` rows with random ids; each row's partition is Partitioning's partition of the id's
    /// lowercase text, or with `skew` (a Zipf exponent) the partition of the rank it was dealt: the
    /// partitions are ranked in a random order (from `randomSeed` when given, so the same inbox comes
    /// out every time) and rank r gets a share of the rows proportional to `1 / r^skew` (a skewed inbox,
    /// as one heavy tenant makes). Returns how many rows were inserted.
    func seed(items: Int, partitionCount: Int, skew: Double? = nil, randomSeed: UInt64? = nil) async throws -> Int {
        let partitioner = try Partitioner(partitionCount: partitionCount)
        let dealt = skew.map { exponent in
            var random: any RandomNumberGenerator = randomSeed.map { SplitMix64(seed: $0) } ?? SystemRandomNumberGenerator()
            return Self.skewedPartitions(items: items, partitionCount: partitionCount, exponent: exponent, using: &random)
        }
        var inserted = 0
        var start = 0
        while start < items {
            let ids = (start..<min(items, start + 1000)).map { _ in UUID().uuidString.lowercased() }
            let partitions = dealt.map { Array($0[start..<start + ids.count]) } ?? ids.map { partitioner.partition(forKey: $0) }
            let rows = try await pool.query(
                "INSERT INTO \(tables.items) (id, partition) SELECT * FROM unnest($1::uuid[], $2::int[]) ON CONFLICT (id) DO NOTHING",
                ["{" + ids.joined(separator: ",") + "}", partitions])
            inserted += rows.affectedRows
            start += ids.count
        }
        return inserted
    }

    /// `items` partitions, rank r (from 1, in a random order of the partitions) given about
    /// `items × r^-exponent / Σ k^-exponent` of them; every item gets one. The order is drawn from `random`.
    static func skewedPartitions(items: Int, partitionCount: Int, exponent: Double, using random: inout some RandomNumberGenerator) -> [Int]
    {
        let order = (0..<partitionCount).shuffled(using: &random)
        let weights = (1...partitionCount).map { 1 / pow(Double($0), exponent) }
        let total = weights.reduce(0, +)
        var dealt: [Int] = []
        dealt.reserveCapacity(items)
        var owed = 0.0
        for (rank, partition) in order.enumerated() {
            owed += Double(items) * weights[rank] / total
            let count = min(Int(owed.rounded()) - dealt.count, items - dealt.count)
            if count > 0 { dealt.append(contentsOf: repeatElement(partition, count: count)) }
        }
        return dealt + repeatElement(order[0], count: items - dealt.count)
    }

    /// Claims `grants` for (`number`, `worker`): a row is taken only from an older grant epoch (or
    /// re-taken under the same one, which only this grant has). Rows are locked in partition order, so
    /// concurrent claims and work transactions cannot deadlock.
    func claim(_ grants: [PartitionGrant], number: WorkerNumber, worker: String) async throws(PostgresError) -> ClaimResult {
        guard !grants.isEmpty else { return ClaimResult(claimed: [], fenced: []) }
        let sorted = grants.sorted()
        let rows = try await pool.query(
            """
            INSERT INTO \(tables.owners) (partition, number, worker, epoch, claimed_at)
            SELECT g.partition, $1, $2, g.epoch, now() FROM unnest($3::int[], $4::bigint[]) AS g(partition, epoch)
            ORDER BY g.partition
            ON CONFLICT (partition) DO UPDATE
                SET number = excluded.number, worker = excluded.worker, epoch = excluded.epoch, claimed_at = excluded.claimed_at
                WHERE \(tables.owners).epoch <= excluded.epoch
            RETURNING partition
            """,
            [number.rawValue, worker, sorted.map(\.partition.rawValue), sorted.map { Int($0.epoch.rawValue) }])
        let claimed = Set(try rows.map { row throws(PostgresError) in Partition(try row.decode(Int.self, at: 0)) })
        return ClaimResult(
            claimed: sorted.filter { claimed.contains($0.partition) }, fenced: sorted.filter { !claimed.contains($0.partition) })
    }

    /// One round of work: locks the claim rows (`partition_owners`) still at our epochs `FOR SHARE`, then increments
    /// `value` and sets `current_worker` on the work items of exactly those partitions.
    func work(_ owned: [PartitionGrant], worker: String, sampleSize: Int = 20) async throws -> WorkResult {
        let sorted = owned.sorted()
        return try await pool.transaction { tx in
            let locked = try tx.query(
                """
                SELECT o.partition FROM \(tables.owners) o
                JOIN unnest($1::int[], $2::bigint[]) AS m(partition, epoch) ON o.partition = m.partition AND o.epoch = m.epoch
                WHERE o.worker = $3
                ORDER BY o.partition FOR SHARE OF o
                """,
                [sorted.map(\.partition.rawValue), sorted.map { Int($0.epoch.rawValue) }, worker])
            let confirmed = Set(try locked.map { row throws(PostgresError) in Partition(try row.decode(Int.self, at: 0)) })
            let worked = sorted.filter { confirmed.contains($0.partition) }
            // What the rows we no longer match hold: a newer grant's claim fences us; an older claim, or
            // none, means our own claim was lost (a failover without our last commits) and is made again.
            let unconfirmed = sorted.filter { !confirmed.contains($0.partition) }
            var newer: Set<Partition> = []
            if !unconfirmed.isEmpty {
                let rows = try tx.query(
                    """
                    SELECT o.partition FROM \(tables.owners) o
                    JOIN unnest($1::int[], $2::bigint[]) AS m(partition, epoch) ON o.partition = m.partition AND o.epoch > m.epoch
                    """,
                    [unconfirmed.map(\.partition.rawValue), unconfirmed.map { Int($0.epoch.rawValue) }])
                newer = Set(try rows.map { row throws(PostgresError) in Partition(try row.decode(Int.self, at: 0)) })
            }
            let touched = try tx.query(
                """
                WITH touched AS (
                    UPDATE \(tables.items) SET value = value + 1, current_worker = $1, updated_at = now()
                    WHERE partition = ANY($2::int[]) RETURNING id, partition)
                SELECT (SELECT count(*) FROM touched),
                       (SELECT string_agg(id::text, ',') FROM (SELECT id FROM touched ORDER BY id LIMIT $3) s),
                       (SELECT string_agg(partition || ':' || n, ',') FROM (SELECT partition, count(*) AS n FROM touched GROUP BY partition) p)
                """,
                [worker, worked.map(\.partition.rawValue), sampleSize])
            let count = try touched.first?.decode(Int.self, at: 0) ?? 0
            let sample = try touched.first?.decode(String?.self, at: 1)?.split(separator: ",").map(String.init) ?? []
            var rowsByPartition: [Partition: Int] = [:]
            for pair in try touched.first?.decode(String?.self, at: 2)?.split(separator: ",") ?? [] {
                let parts = pair.split(separator: ":")
                if parts.count == 2, let partition = Int(parts[0]), let rows = Int(parts[1]) {
                    rowsByPartition[Partition(partition)] = rows
                }
            }
            return WorkResult(
                worked: worked, fenced: unconfirmed.filter { newer.contains($0.partition) },
                lost: unconfirmed.filter { !newer.contains($0.partition) }, rowsTouched: count, sampleIDs: sample,
                rowsByPartition: rowsByPartition)
        }
    }

    func shutdown() async { await pool.shutdown() }
}
