import Coordination
import Foundation
import KafkaAdapter
import PostgresAdapter
import TestSupport
import Testing

@testable import Worker

#if canImport(Glibc)
    import Glibc
#endif

/// Workers consuming their lease's Kafka consumer group on the broker scripts/test starts, with every
/// receipt checked against the group's claims (SystemHarness.receiptViolations): a receipt is written
/// only by the lease that claimed the group last. Each group reads the whole topic, as each instance
/// of a request/reply service reads all replies.
@Suite(
    .serialized,
    .enabled(
        if: TestServers.runRedisTests && TestServers.runPostgresTests && TestServers.kafkaBrokers != nil,
        "needs Redis, PostgreSQL and a Kafka broker")
)
struct KafkaSystemTests {
    static let batch = 20
    /// Past the harness's NUMBER_QUARANTINE (500 ms): a number freed by an expiry is handed out again only after it.
    static let quarantine: Duration = .seconds(1)

    static func kafkaEnvironment(_ topic: String) -> [String: String] {
        ["KAFKA_BROKERS": TestServers.kafkaBrokers ?? "", "KAFKA_TOPICS": topic, "KAFKA_BATCH": "\(batch)"]
    }

    static func produce(_ topic: String, _ range: Range<Int>, createPartitions: Int32? = nil) throws {
        let producer = try KafkaProducerHandle(settings: ["bootstrap.servers": TestServers.kafkaBrokers ?? ""])
        if let createPartitions { try producer.createTopic(topic, partitions: createPartitions, timeoutMillis: 10_000) }
        for index in range { try producer.produce(topic: topic, key: Array("k\(index)".utf8), value: Array("v\(index)".utf8)) }
        try producer.flush(timeoutMillis: 10_000)
    }

    /// group -> distinct records received (topic, partition, offset), and how many were received again
    /// under a later epoch (a handoff's re-deliveries).
    static func receipts(_ system: SystemHarness) async throws -> [String: (distinct: Int, again: Int)] {
        let rows = try await system.database.query(
            """
            SELECT group_name, count(*), count(*) FILTER (WHERE epochs > 1) FROM (
                SELECT group_name, topic, partition, "offset", count(DISTINCT epoch) AS epochs FROM kafka_receipts
                GROUP BY 1, 2, 3, 4) r GROUP BY group_name
            """)
        var result: [String: (distinct: Int, again: Int)] = [:]
        for row in rows {
            result[try row.decode(String.self, at: 0)] = (try row.decode(Int.self, at: 1), try row.decode(Int.self, at: 2))
        }
        return result
    }

    static func number(_ system: SystemHarness, _ name: String) async throws -> Int? {
        try await system.status(name)?.number.map(\.rawValue)
    }

    @Test(
        "each worker consumes the whole topic in its number's group; a killed worker's number resumes its group where it was committed, not from the start"
    )
    func groupsFollowTheLease() async throws {
        let topic = "sys-\(UUID().uuidString.prefix(8).lowercased())"
        try Self.produce(topic, 0..<200, createPartitions: 4)
        try await SystemHarness.with(workers: 0) { system in
            for name in ["worker-0", "worker-1"] { try system.startWorker(name, environment: Self.kafkaEnvironment(topic)) }
            try await eventually("both groups received all 200 records", within: .seconds(60)) {
                let receipts = try await Self.receipts(system)
                return receipts["inbox-0"]?.distinct == 200 && receipts["inbox-1"]?.distinct == 200
            }
            let victim = try #require(try await Self.number(system, "worker-0"))
            // The lag is per group: the group's series moves; the series of no group stays 0.
            let metrics = String(decoding: try await system.get(system.workerURL("worker-0") + "/metrics").body, as: UTF8.self)
            #expect(metrics.contains(#"rollcall_kafka_lag_records{group="inbox-\#(victim)"}"#), "\(metrics)")
            #expect(metrics.contains(#"rollcall_kafka_lag_records{group=""} 0"#))
            let status = try #require(try await system.status("worker-0"))
            #expect(status.kafka?.group == "inbox-\(victim)" && (status.kafka?.records ?? 0) >= 200 && (status.kafka?.joins ?? 0) >= 1)

            // Killed while records keep coming: its number's group waits, then its next holder resumes it.
            try Self.produce(topic, 200..<300)
            try await Task.sleep(for: .milliseconds(300))
            system.worker("worker-0").signal(SIGKILL)
            try Self.produce(topic, 300..<400)
            try await eventually("the killed worker's lease ended", within: .seconds(30)) {
                try await system.leases()["worker-0"] == nil
            }
            try await Task.sleep(for: Self.quarantine)
            try system.startWorker("worker-2", environment: Self.kafkaEnvironment(topic))
            try await eventually("worker-2 holds the freed number", within: .seconds(30)) {
                try await Self.number(system, "worker-2") == victim
            }
            try await eventually("both groups received all 400 records", within: .seconds(60)) {
                let receipts = try await Self.receipts(system)
                return receipts["inbox-0"]?.distinct == 400 && receipts["inbox-1"]?.distinct == 400
            }
            let receipts = try await Self.receipts(system)
            let again = receipts["inbox-\(victim)"]?.again ?? -1
            print("re-delivered after the handoff of inbox-\(victim): \(again) records (batch \(Self.batch))")
            #expect(again <= Self.batch, "at most the batch in hand when it was killed is delivered again, not a replay")
            #expect(Set(receipts.keys) == ["inbox-0", "inbox-1"], "groups are reused, never one per process")
            let holders = try await system.database.query(
                "SELECT DISTINCT worker FROM kafka_receipts WHERE group_name = $1 AND worker <> 'worker-0'", ["inbox-\(victim)"])
            #expect(try holders.map { row throws(PostgresError) in try row.decode(String.self, at: 0) } == ["worker-2"])
        }
    }

    @Test("a worker paused past its TTL writes no receipt after it resumes, and its group goes on under the number's next holder")
    func pausedWorkerRecordsNothing() async throws {
        let topic = "sys-\(UUID().uuidString.prefix(8).lowercased())"
        try Self.produce(topic, 0..<50, createPartitions: 2)
        try await SystemHarness.with(workers: 0) { system in
            try system.startWorker("worker-0", environment: Self.kafkaEnvironment(topic))
            try await eventually("inbox-0 received the first 50", within: .seconds(60)) {
                try await Self.receipts(system)["inbox-0"]?.distinct == 50
            }
            system.worker("worker-0").signal(SIGSTOP)
            try Self.produce(topic, 50..<100)
            try await eventually("the paused worker's lease ended", within: .seconds(30)) {
                try await system.leases()["worker-0"] == nil
            }
            try await Task.sleep(for: Self.quarantine)
            try system.startWorker("worker-1", environment: Self.kafkaEnvironment(topic))
            try await eventually("worker-1 received the rest in inbox-0", within: .seconds(60)) {
                try await Self.receipts(system)["inbox-0"]?.distinct == 100
            }
            let resumed = try await system.database.query("SELECT now()::text")
            let resumedAt = try resumed[0].decode(String.self, at: 0)
            system.worker("worker-0").signal(SIGCONT)
            try Self.produce(topic, 100..<120)
            try await eventually("all 120 in inbox-0, and worker-0 back under a new lease", within: .seconds(60)) {
                let safe = try await system.status("worker-0")?.safe ?? false
                return try await Self.receipts(system)["inbox-0"]?.distinct == 120 && safe
            }
            let late = try await system.database.query(
                "SELECT count(*) FROM kafka_receipts WHERE worker = 'worker-0' AND group_name = 'inbox-0' AND received_at > $1::timestamptz",
                [resumedAt])
            #expect(try late[0].decode(Int.self, at: 0) == 0, "nothing in its old group after it resumed")
            #expect(try await system.receiptViolations().isEmpty)
        }
    }
}
