import Foundation
import TestSupport
import Testing

@testable import PostgresAdapter

/// A real failover on loopback: a primary, a streaming standby (pg_basebackup), the primary SIGKILLed
/// and the standby promoted (pg_ctl promote), under a pool whose URL names both hosts.
@Suite(.serialized, .enabled(if: TestServers.runPostgresTests, "needs PostgreSQL (scripts/test installs it)"))
struct PostgresFailoverTests {
    /// A primary with a table `t` and one row, and its standby, both running; removed after `body`.
    func withPair(synchronous: Bool, _ body: (PrivatePostgres, PrivatePostgres, PostgresPool) async throws -> Void) async throws {
        try await PrivatePostgres.withPrimaryAndStandby { primary, standby in
            let setup = PostgresPool(configuration: PostgresConfiguration(url: primary.url, poolSize: 1))
            try await setup.query("CREATE TABLE t (id int primary key)")
            try await setup.query("INSERT INTO t VALUES (1)")
            await setup.shutdown()
            try await standby.startStandby(of: primary)
            try await primary.waitForStandby(synchronous)
            let url = "postgres://postgres:\(primary.password)@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/rollcall"
            let pool = PostgresPool(configuration: PostgresConfiguration(url: url, connectTimeout: .seconds(2), poolSize: 3))
            do {
                try await body(primary, standby, pool)
            } catch {
                await pool.shutdown()
                throw error
            }
            await pool.shutdown()
        }
    }

    /// Inserts `id` through `pool` until a call succeeds; returns the failovers the failed calls reported.
    func insertUntilItWorks(_ pool: PostgresPool, _ id: Int) async throws -> [PostgresError.Failover] {
        var failovers: [PostgresError.Failover] = []
        let took = try await eventually("an insert succeeds on the promoted standby", every: .milliseconds(100)) {
            do {
                try await pool.query("INSERT INTO t VALUES ($1)", [id])
                return true
            } catch {
                if let failover = (error as? PostgresError)?.failover { failovers.append(failover) }
                return false
            }
        }
        print("insert \(id) succeeded \(took) after the promotion (a measurement)")
        return failovers
    }

    @Test("a pool on a multi-host URL follows the promoted standby after the primary is SIGKILLed, and reports the new timeline once")
    func followsThePromotedStandby() async throws {
        try await withPair(synchronous: true) { primary, standby, pool in
            #expect(try await pool.replication().waitsForStandby, "synchronous_standby_names is set")
            try await pool.query("INSERT INTO t VALUES (2)")  // every pooled connection's first use: the primary
            let before = try #require(pool.timeline)
            try primary.kill()
            try await standby.promote()
            let failovers = try await insertUntilItWorks(pool, 3)
            #expect(failovers.count == 1 && failovers.first?.from == before, "\(failovers)")
            let after = try #require(pool.timeline)
            #expect(after != before && failovers.first?.to == after)
            // Synchronous: nothing acknowledged was lost.
            let ids = try await pool.query("SELECT id FROM t ORDER BY id").map { try $0.decode(Int.self, at: 0) }
            #expect(ids == [1, 2, 3])
        }
    }

    @Test("a pool never writes to a standby: with only the standby reachable it fails to connect until that is promoted")
    func neverWritesToAStandby() async throws {
        try await withPair(synchronous: false) { primary, standby, pool in
            let replication = try await pool.replication()
            #expect(!replication.waitsForStandby && replication.synchronousStandbyNames.isEmpty, "\(replication)")
            try primary.kill()
            await #expect(throws: PostgresError.self) { try await pool.query("INSERT INTO t VALUES (2)") }
            let reader = PostgresPool(configuration: PostgresConfiguration(url: standby.url + "?target_session_attrs=any", poolSize: 1))
            let rows = try await reader.query("SELECT count(*) FROM t")
            await reader.shutdown()
            #expect(try rows[0].decode(Int.self, at: 0) == 1, "the standby has the row, and refused to be written to")
            try await standby.promote()
            _ = try await insertUntilItWorks(pool, 2)
        }
    }
}
