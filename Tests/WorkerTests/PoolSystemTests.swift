import Coordination
import Foundation
import PostgresAdapter
import TestSupport
import Testing

@testable import Worker

/// One control plane for two fleets: the `default` pool (today's routes, keys and tables) and `payments`.
@Suite(.serialized, .enabled(if: TestServers.runRedisTests && TestServers.runPostgresTests))
struct PoolSystemTests {
    @Test(
        "one control plane serves two pools: each pool's workers get numbers from 0 and share only their own partitions, in their own tables"
    )
    func twoPoolsOneControlPlane() async throws {
        let folder = try SecretFolder()
        let file = try folder.write(
            "pools.yaml", "pools:\n  - name: default\n  - name: payments\n    partitions: 16\n    maxWorkers: 4\n")
        try await SystemHarness.with(workers: 2, controlPlaneEnvironment: ["POOLS_FILE": file]) { system in
            try system.startWorker("pay-0", environment: ["POOL": "payments"])
            try system.startWorker("pay-1", environment: ["POOL": "payments"])
            try await eventually("the default pool's 1024 partitions are owned by its two workers", within: .seconds(30)) {
                try await system.isSettled(on: ["worker-0", "worker-1"])
            }
            try await eventually("payments' 16 partitions are owned by its two workers, in its own table", within: .seconds(30)) {
                let rows = try await system.database.query(
                    #"SELECT worker, count(*)::int FROM "payments".partition_owners GROUP BY worker"#)
                let counts = try Dictionary(
                    uniqueKeysWithValues: rows.map { row throws(PostgresError) in
                        (try row.decode(String.self, at: 0), try row.decode(Int.self, at: 1))
                    })
                guard Set(counts.keys) == ["pay-0", "pay-1"], counts.values.reduce(0, +) == 16 else { return false }
                for name in ["pay-0", "pay-1"] {
                    guard let status = try await system.status(name), status.safe, status.claimedCount == status.grantedCount else {
                        return false
                    }
                }
                return true
            }
            // Numbers are per pool: both pools have 0 and 1; payments' groups carry its prefix.
            var payments: Set<Int> = []
            for name in ["pay-0", "pay-1"] {
                let status = try #require(try await system.status(name))
                let number = try #require(status.number)
                payments.insert(number.rawValue)
                #expect(status.consumerGroup == "payments-\(number)")
            }
            #expect(payments == [0, 1])
            var defaults: Set<Int> = []
            for name in ["worker-0", "worker-1"] { defaults.insert(try #require(try await system.status(name)?.number).rawValue) }
            #expect(defaults == [0, 1])
            #expect(Set(try await system.owners().values) == ["worker-0", "worker-1"], "a payments worker claimed a default partition")

            // payments' rows are worked by payments' workers only.
            _ = try await system.database.query(
                #"INSERT INTO "payments".work_items (id, partition) SELECT gen_random_uuid(), g % 16 FROM generate_series(1, 64) g"#)
            try await eventually("every payments row was worked by its partition's owner", within: .seconds(20)) {
                let rows = try await system.database.query(
                    #"""
                    SELECT count(*)::int FROM "payments".work_items w JOIN "payments".partition_owners o USING (partition)
                    WHERE w.value > 0 AND w.current_worker = o.worker
                    """#)
                return try rows[0].decode(Int.self, at: 0) == 64
            }
        }
    }
}

/// `balance: load` on real processes: workers report the rows they work per partition, the control
/// plane moves partitions by it, and every move is a fenced handoff in PostgreSQL.
@Suite(.serialized, .enabled(if: TestServers.runRedisTests && TestServers.runPostgresTests))
struct LoadSystemTests {
    /// Rows per worker, by the partitions each owns in PostgreSQL.
    static func rowsPerWorker(_ system: SystemHarness) async throws -> [String: Int] {
        let rows = try await system.database.query(
            #"""
            SELECT o.worker, count(*)::int FROM "skew".work_items w JOIN "skew".partition_owners o USING (partition) GROUP BY o.worker
            """#)
        return try Dictionary(
            uniqueKeysWithValues: rows.map { row throws(PostgresError) in
                (try row.decode(String.self, at: 0), try row.decode(Int.self, at: 1))
            })
    }

    @Test("a skewed inbox: four workers reporting their rows converge from one worker with 3.5 x the mean to at most 1.1 x")
    func skewedInboxConverges() async throws {
        let folder = try SecretFolder()
        let file = try folder.write(
            "pools.yaml",
            "pools:\n  - name: default\n  - name: skew\n    partitions: 32\n    maxWorkers: 8\n    balance: load\n    moveBudget: 8\n    loadRoundInterval: 500ms\n"
        )
        try await SystemHarness.with(workers: 0, controlPlaneEnvironment: ["POOLS_FILE": file]) { system in
            let names = ["skew-0", "skew-1", "skew-2", "skew-3"]
            for name in names { try system.startWorker(name, environment: ["POOL": "skew", "LOAD_REPORT_INTERVAL": "1s"]) }
            try await eventually("the 32 partitions are claimed by the four workers", within: .seconds(30)) {
                let rows = try await system.database.query(
                    #"SELECT count(DISTINCT worker)::int, count(*)::int FROM "skew".partition_owners"#)
                return try rows[0].decode(Int.self, at: 0) == 4 && rows[0].decode(Int.self, at: 1) == 32
            }
            // Every partition skew-0 owns now gets 200 rows, every other one 10.
            _ = try await system.database.query(
                #"""
                INSERT INTO "skew".work_items (id, partition)
                SELECT gen_random_uuid(), o.partition FROM "skew".partition_owners o,
                       generate_series(1, CASE WHEN o.worker = 'skew-0' THEN 200 ELSE 10 END)
                """#)
            let before = try await Self.rowsPerWorker(system)
            let mean = Double(before.values.reduce(0, +)) / 4
            let start = Double(before.values.max() ?? 0) / mean
            #expect(start > 2, "the skew must unbalance the layout for the test to mean anything: \(before)")
            var last = start
            try await eventually("rows per worker within 1.1 x the mean", within: .seconds(90), every: .milliseconds(500)) {
                let now = try await Self.rowsPerWorker(system)
                guard now.count == 4 else { return false }
                last = Double(now.values.max() ?? 0) / mean
                return last <= 1.1
            }
            print(
                "load balance on real processes: max/mean rows per worker \(String(format: "%.2f", start)) -> \(String(format: "%.2f", last)) (a measurement)"
            )
        }
    }

    /// Rows processed per second by each worker of `schema` over `window`: the growth of `value` (one
    /// per row per work round) by the worker that last worked the row.
    static func rowsPerSecond(_ system: SystemHarness, schemas: [String], window: Duration) async throws -> [String: [String: Double]] {
        func totals() async throws -> [String: [String: Int]] {
            var result: [String: [String: Int]] = [:]
            for schema in schemas {
                let rows = try await system.database.query(
                    #"SELECT current_worker, sum(value)::bigint FROM "\#(schema)".work_items WHERE current_worker IS NOT NULL GROUP BY current_worker"#
                )
                result[schema] = try Dictionary(
                    uniqueKeysWithValues: rows.map { row throws(PostgresError) in
                        (try row.decode(String.self, at: 0), try row.decode(Int.self, at: 1))
                    })
            }
            return result
        }
        let start = try await totals()
        try await Task.sleep(for: window)
        let end = try await totals()
        let seconds = Double(window.components.seconds)
        return end.mapValues { _ in [:] }.merging(
            end.map { schema, workers in
                (
                    schema,
                    workers.mapValues { _ in 0.0 }.merging(
                        workers.map { ($0.key, Double($0.value - (start[schema]?[$0.key] ?? 0)) / seconds) }
                    ) { $1 }
                )
            }
        ) { $1 }
    }

    @Test("eight workers on a Zipf-skewed inbox: rows processed per second per worker, balanced by count and by load in the same run")
    func countAgainstLoad() async throws {
        let folder = try SecretFolder()
        let pool = "    partitions: 64\n    maxWorkers: 16\n"
        let file = try folder.write(
            "pools.yaml",
            "pools:\n  - name: default\n  - name: bycount\n" + pool + "  - name: byload\n" + pool
                + "    balance: load\n    moveBudget: 16\n    loadRoundInterval: 500ms\n")
        try await SystemHarness.with(workers: 0, controlPlaneEnvironment: ["POOLS_FILE": file]) { system in
            // The same inbox in both: partition p holds 400 / rank(p)^0.6 rows (ranks shuffled once).
            var generator = SplitMix64(seed: 29)
            var ranks = Array(1...64)
            ranks.shuffle(using: &generator)
            let counts = ranks.map { Int((400 / pow(Double($0), 0.6)).rounded()) }
            for schema in ["bycount", "byload"] {
                for index in 0..<8 {
                    try system.startWorker("\(schema)-\(index)", environment: ["POOL": schema, "LOAD_REPORT_INTERVAL": "1s"])
                }
            }
            for schema in ["bycount", "byload"] {
                try await eventually("\(schema): the 64 partitions claimed by eight workers", within: .seconds(60)) {
                    let rows = try await system.database.query(
                        #"SELECT count(DISTINCT worker)::int, count(*)::int FROM "\#(schema)".partition_owners"#)
                    return try rows[0].decode(Int.self, at: 0) == 8 && rows[0].decode(Int.self, at: 1) == 64
                }
                for (partition, rows) in counts.enumerated() {
                    _ = try await system.database.query(
                        #"INSERT INTO "\#(schema)".work_items (id, partition) SELECT gen_random_uuid(), $1 FROM generate_series(1, $2)"#,
                        [partition, rows])
                }
            }
            // Load mode needs its reports and rounds: wait until its layout holds still, then measure both.
            try await eventually("byload within 1.1 x the mean", within: .seconds(120), every: .seconds(1)) {
                let rates = try await Self.rowsPerSecond(system, schemas: ["byload"], window: .seconds(2))["byload"] ?? [:]
                let values = rates.values
                guard values.count == 8, let top = values.max() else { return false }
                return top / (values.reduce(0, +) / 8) <= 1.1
            }
            let rates = try await Self.rowsPerSecond(system, schemas: ["bycount", "byload"], window: .seconds(5))
            var ratios: [String: Double] = [:]
            for (schema, workers) in rates {
                let mean = workers.values.reduce(0, +) / 8
                ratios[schema] = (workers.values.max() ?? 0) / mean
            }
            print(
                "rows processed per second per worker, max/mean (8 workers, 64 partitions, Zipf 0.6): by count \(String(format: "%.2f", ratios["bycount"] ?? 0)), by load \(String(format: "%.2f", ratios["byload"] ?? 0)) (a measurement)"
            )
            #expect((ratios["byload"] ?? 9) <= 1.1 && (ratios["byload"] ?? 9) < (ratios["bycount"] ?? 0), "\(ratios)")
        }
    }
}
