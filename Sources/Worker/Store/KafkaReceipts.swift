import Coordination
import KafkaAdapter
import PostgresAdapter
import RollcallKafka

/// Kafka receipts, fenced as partition claims are: a consumer group is claimed under its lease's epoch
/// (`kafka_group_owners`), and each batch of receipts first locks that claim row at its epoch
/// `FOR SHARE`. Once the number's next holder has claimed the group under a newer epoch, the older
/// holder's batches match nothing and write nothing, so every receipt traces to the number's holder
/// at the moment it was written.
extension WorkStore {
    /// Claims `membership`'s group for `worker`: replaces an older (or the same) claim only. False when a
    /// newer epoch holds it (this lease is no longer the number's newest).
    func claimGroup(_ membership: GroupMembership.Membership, worker: String) async throws(PostgresError) -> Bool {
        let rows = try await pool.query(
            """
            INSERT INTO \(tables.groupOwners) (group_name, number, worker, epoch, claimed_at) VALUES ($1, $2, $3, $4, now())
            ON CONFLICT (group_name) DO UPDATE
                SET number = excluded.number, worker = excluded.worker, epoch = excluded.epoch, claimed_at = excluded.claimed_at
                WHERE \(tables.groupOwners).epoch <= excluded.epoch
            RETURNING group_name
            """,
            [membership.group, membership.number.rawValue, worker, Int(membership.epoch.rawValue)])
        return !rows.isEmpty
    }

    /// Writes one receipt per record under the group's claim at `membership`'s epoch; false (nothing
    /// written) when that claim is gone. A record already received under this epoch is not written twice.
    func recordReceipts(_ records: [KafkaRecord], membership: GroupMembership.Membership, worker: String) async throws -> Bool {
        let byTopic = Dictionary(grouping: records, by: \.topic)
        return try await pool.transaction { tx in
            let claim = try tx.query(
                "SELECT 1 FROM \(tables.groupOwners) WHERE group_name = $1 AND epoch = $2 AND worker = $3 FOR SHARE",
                [membership.group, Int(membership.epoch.rawValue), worker])
            guard !claim.isEmpty else { return false }
            for (topic, records) in byTopic.sorted(by: { $0.key < $1.key }) {
                try tx.query(
                    """
                    INSERT INTO \(tables.receipts) (group_name, topic, partition, "offset", worker, number, epoch, received_at)
                    SELECT $1, $2, r.partition, r.offset, $3, $4, $5, now() FROM unnest($6::int[], $7::bigint[]) AS r(partition, "offset")
                    ON CONFLICT DO NOTHING
                    """,
                    [
                        membership.group, topic, worker, membership.number.rawValue, Int(membership.epoch.rawValue),
                        records.map { Int($0.partition) }, records.map { Int($0.offset) },
                    ])
            }
            return true
        }
    }
}
