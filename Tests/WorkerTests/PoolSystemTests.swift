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
