import Coordination
import Foundation
import Partitioning
import PostgresAdapter
import TestSupport
import Testing

@testable import Worker

/// The fenced claims and the work transaction, on the shared test PostgreSQL (a fresh database each).
@Suite(.enabled(if: TestServers.runPostgresTests))
struct WorkStoreTests {
    func grant(_ partition: Partition, _ epoch: Int64) -> PartitionGrant {
        PartitionGrant(partition: partition, epoch: Epoch(rawValue: epoch))
    }

    /// A fresh database with the tables and `items` seeded rows over 8 partitions.
    func withStore(items: Int = 64, _ body: (WorkStore) async throws -> Void) async throws {
        let database = try await TestDatabase.create(prefix: "rollcall_ws", adminURL: try TestServers.requireDatabaseURL())
        var configuration = WorkerConfiguration(name: WorkerName(rawValue: "test")!)
        configuration.databaseURL = database.url
        let store = WorkStore(configuration: configuration)
        do {
            try await store.migrate()
            #expect(try await store.seed(items: items, partitionCount: 8) == items)
            try await body(store)
        } catch {
            await store.shutdown()
            await database.drop()
            throw error
        }
        await store.shutdown()
        await database.drop()
    }

    @Test("migrations run twice change nothing and keep the rows")
    func idempotentMigrations() async throws {
        try await withStore { store in
            try await store.migrate()
            try await store.migrate()
            let rows = try await store.pool.query("SELECT count(*) FROM work_items")
            #expect(try rows[0].decode(Int.self, at: 0) == 64)
        }
    }

    @Test("seeding puts each row in Partitioning's partition of its id")
    func seedPartitions() async throws {
        try await withStore { store in
            let partitioner = try Partitioner(partitionCount: 8)
            let rows = try await store.pool.query("SELECT id::text, partition FROM work_items")
            for row in rows {
                let id = try row.decode(String.self, at: 0)
                let partition = try row.decode(Int.self, at: 1)
                #expect(partitioner.partition(forKey: id) == partition)
            }
        }
    }

    @Test("a skewed seed deals every item a partition, the k-th heaviest about 1 / k^s of the heaviest's rows")
    func skewedSeed() async throws {
        var random = SplitMix64(seed: 1)
        let dealt = WorkStore.skewedPartitions(items: 10_000, partitionCount: 64, exponent: 1, using: &random)
        #expect(dealt.count == 10_000 && dealt.allSatisfy { (0..<64).contains($0) })
        let counts = Dictionary(grouping: dealt, by: { $0 }).mapValues(\.count).values.sorted(by: >)
        // Σ 1/k for k ≤ 64 is 4.744: the heaviest holds 10,000 / 4.744 = 2,108 rows, the second 1,054.
        #expect(abs(counts[0] - 2108) <= 1 && abs(counts[1] - 1054) <= 1 && counts.count == 64, "\(counts.prefix(4))")
        let flat = WorkStore.skewedPartitions(items: 640, partitionCount: 64, exponent: 0, using: &random)
        #expect(Dictionary(grouping: flat, by: { $0 }).values.allSatisfy { $0.count == 10 })
        try await withStore(items: 1) { store in
            #expect(try await store.seed(items: 500, partitionCount: 8, skew: 1.2) == 500)
            let rows = try await store.pool.query("SELECT max(c)::int FROM (SELECT count(*) AS c FROM work_items GROUP BY partition) t")
            #expect(try rows[0].decode(Int.self, at: 0) > 500 / 8 * 2, "the heaviest partition holds more than twice its even share")
        }
    }

    @Test("scripts/run --skew deals its inbox from a fixed seed that starts four workers (count layout) at 1.8 x the mean or more")
    func demoSeed() throws {
        // test_operator_view's skew scenario asserts a skewed start before the view converges; with a
        // random order the count layout's heaviest worker lands under 1.3 x the mean in about one run in 16.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = try String(contentsOf: root.appendingPathComponent("scripts/run"), encoding: .utf8)
        let line = try #require(script.split(separator: "\n").first { $0.contains("seed --items") && $0.contains("--skew") })
        let words = line.split(separator: " ")
        let seed = try #require(
            words.firstIndex(of: "--random-seed").flatMap { UInt64(words[$0 + 1].prefix(while: \.isNumber)) }, "\(line)")
        func dealt() -> [Int] {
            var random = SplitMix64(seed: seed)
            return WorkStore.skewedPartitions(items: 6000, partitionCount: 64, exponent: 1, using: &random)
        }
        #expect(dealt() == dealt(), "the same seed deals the same inbox")
        var loads = [Double](repeating: 0, count: 4)
        let owners = try Layout(members: 0..<4, partitionCount: 64, epsilon: 0.1).owners
        for partition in dealt() { loads[try #require(owners[partition])] += 1 }
        #expect(loads.max()! / 1500 >= 1.8, "loads per number at the start: \(loads)")
    }

    @Test("a newer grant's claim fences the older owner: its claim and its writes then match nothing")
    func fencing() async throws {
        try await withStore { store in
            let all = (0..<8).map { grant(Partition($0), 10) }
            #expect(try await store.claim(all, number: 0, worker: "a") == ClaimResult(claimed: all, fenced: []))
            let first = try await store.work(all, worker: "a")
            #expect(first.rowsTouched == 64 && first.fenced.isEmpty)

            // B is granted partitions 0 and 1 under newer epochs, whatever its lease's age.
            #expect(try await store.claim([grant(0, 20), grant(1, 20)], number: 1, worker: "b").claimed.count == 2)
            let second = try await store.work(all, worker: "a")
            #expect(second.fenced == [grant(0, 10), grant(1, 10)])
            #expect(second.worked.count == 6)
            let stale = try await store.pool.query("SELECT count(*) FROM work_items WHERE partition IN (0, 1) AND value > 1")
            #expect(try stale[0].decode(Int.self, at: 0) == 0, "A wrote nothing to the partitions it lost")

            // A stale claim by A is refused; a re-claim by B under its own grant succeeds.
            #expect(try await store.claim([grant(0, 10)], number: 0, worker: "a") == ClaimResult(claimed: [], fenced: [grant(0, 10)]))
            #expect(try await store.claim([grant(0, 20)], number: 1, worker: "b").claimed == [grant(0, 20)])
            let owners = try await store.pool.query("SELECT worker, epoch FROM partition_owners WHERE partition = 0")
            let owner = try owners[0].decode(String.self, at: 0)
            let epoch = try owners[0].decode(Int64.self, at: 1)
            #expect(owner == "b" && epoch == 20)
        }
    }

    @Test("a claim PostgreSQL lost (an older claim or none in its place, as after an asynchronous failover) is made again, not dropped")
    func lostClaimIsMadeAgain() async throws {
        try await withStore { store in
            let all = (0..<8).map { grant(Partition($0), 10) }
            var claims = Claims()
            claims.apply(.granted(all))
            claims.record(try await store.claim(claims.claimsDue(grantedNow: all), number: 0, worker: "a"))
            #expect(try await store.work(all, worker: "a").worked == all)
            // The promoted standby never had A's claims of 0 and 1: it has an older owner's row for 0, none for 1.
            try await store.pool.query("UPDATE partition_owners SET worker = 'old', number = 5, epoch = 4 WHERE partition = 0")
            try await store.pool.query("DELETE FROM partition_owners WHERE partition = 1")
            let round = try await store.work(claims.workable(grantedNow: all), worker: "a")
            #expect(round.fenced.isEmpty, "no newer grant claimed them: \(round.fenced)")
            #expect(round.lost == [grant(0, 10), grant(1, 10)])
            let untouched = try await store.pool.query("SELECT count(*) FROM work_items WHERE partition IN (0, 1) AND value > 1")
            #expect(try untouched[0].decode(Int.self, at: 0) == 0, "nothing is written to a partition whose claim is not there")
            claims.worked(round)
            #expect(claims.claimsDue(grantedNow: all) == [grant(0, 10), grant(1, 10)], "the lost claims are due again")
            #expect(claims.workable(grantedNow: all) == Array(all.dropFirst(2)), "and are not worked before they are made")
            claims.record(try await store.claim(claims.claimsDue(grantedNow: all), number: 0, worker: "a"))
            let healed = try await store.work(claims.workable(grantedNow: all), worker: "a")
            #expect(healed.worked == all && healed.lost.isEmpty && healed.fenced.isEmpty)
        }
    }

    /// The rows of partition 0 (seeded: 8 partitions) whose value is above `value`.
    func rowsAbove(_ value: Int, _ store: WorkStore) async throws -> Int {
        try await store.pool.query("SELECT count(*) FROM work_items WHERE partition = 0 AND value > $1", [value])[0].decode(Int.self, at: 0)
    }

    @Test(
        "the stale writer of an asynchronous promotion: on the promoted standby the older owner's fence matches again; its pool refuses the new timeline and its lease no longer grants the partition, so it writes nothing"
    )
    func staleWriterAfterAsynchronousPromotion() async throws {
        try await PrivatePostgres.withPrimaryAndStandby { primary, standby in
            var configuration = WorkerConfiguration(name: WorkerName(rawValue: "a")!)
            configuration.databaseURL =
                "postgres://postgres:\(primary.password)@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/rollcall"
            let a = WorkStore(configuration: configuration)
            let b = WorkStore(configuration: configuration)
            let unaware = WorkStore(configuration: configuration)
            func shutdown() async { for store in [a, b, unaware] { await store.shutdown() } }
            do {
                try await a.migrate()
                #expect(try await a.seed(items: 64, partitionCount: 8) == 64)
                let rows = try await rowsAbove(-1, a)
                try #require(rows > 0, "partition 0 has rows")
                let old = [grant(0, 10)]
                let new = [grant(0, 20)]
                var claims = Claims()
                claims.apply(.granted(old))
                claims.record(try await a.claim(claims.claimsDue(grantedNow: old), number: 0, worker: "a"))
                let stale = claims.workable(grantedNow: old)
                #expect(try await a.work(stale, worker: "a").worked == old)
                try await standby.startStandby(of: primary)  // it copies A's claim and A's round
                try await standby.stopReceiving()  // and misses everything from here on
                // A's lease ended while it was paused; the control plane granted partition 0 to B, which
                // claims and works it: on the old primary only.
                #expect(try await b.claim(new, number: 1, worker: "b").claimed == new)
                #expect(try await b.work(new, worker: "b").worked == new)
                try primary.kill()
                try await standby.promote()

                // What fencing alone allows: a pool that never saw the old timeline runs A's round, begun
                // with its old grant before the pause, and on the promoted standby the row is A's again.
                #expect(try await unaware.work(stale, worker: "a").worked == old, "the window: the older owner's fence matches")
                #expect(try await rowsAbove(1, unaware) == rows, "and it wrote")
                try await unaware.pool.query("UPDATE work_items SET value = 1 WHERE partition = 0")

                // A's own pool finds its connections dead, then the new timeline: that call runs nothing.
                var failover: PostgresError.Failover?
                try await eventually("A's pool reaches the promoted standby", every: .milliseconds(100)) {
                    do {
                        let round = try await a.work(stale, worker: "a")
                        Issue.record("A's stale round ran on the promoted standby: \(round)")
                        return true
                    } catch let error as PostgresError {
                        failover = error.failover
                        return failover != nil
                    }
                }
                #expect(failover != nil && failover?.from != failover?.to)
                claims.claimAgain()
                // A's next heartbeat answer no longer grants partition 0: nothing is claimed again or worked.
                #expect(claims.claimsDue(grantedNow: []).isEmpty && claims.workable(grantedNow: []).isEmpty)
                #expect(try await rowsAbove(1, a) == 0, "A wrote nothing on the promoted standby")

                // B's next rounds: the failover, then the claim found lost (older), made again, worked.
                var bClaims = Claims()
                bClaims.apply(.granted(new))
                bClaims.record(ClaimResult(claimed: new, fenced: []))
                var lost = 0
                try await eventually("B works partition 0 again", every: .milliseconds(100)) {
                    do {
                        let due = bClaims.claimsDue(grantedNow: new)
                        if !due.isEmpty { bClaims.record(try await b.claim(due, number: 1, worker: "b")) }
                        let round = try await b.work(bClaims.workable(grantedNow: new), worker: "b")
                        bClaims.worked(round)
                        lost += round.lost.count
                        return round.worked == new
                    } catch let error as PostgresError {
                        if error.failover != nil { bClaims.claimAgain() }
                        return false
                    }
                }
                #expect(try await rowsAbove(1, b) == rows, "B worked its partition on the promoted standby")
                // Once B's claim is made again, the fence holds on its own, whatever pool A's round comes through.
                #expect(try await unaware.work(stale, worker: "a").fenced == old)
            } catch {
                await shutdown()
                throw error
            }
            await shutdown()
        }
    }

    @Test(
        "a worker stopped inside its work transaction does not hold its claim rows: the newer grant's claim goes through and the stopped transaction commits nothing"
    )
    func stoppedTransactionReleasesItsLocks() async throws {
        try await withStore { store in
            _ = try await store.claim([grant(0, 10)], number: 0, worker: "a")
            // A's work transaction locks its row FOR SHARE, then stops (a SIGSTOP, a cut network) for longer
            // than the statement timeout (10 s) the new owner's claim would otherwise wait and fail in.
            let stopped = Task {
                try await store.pool.transaction { tx in
                    _ = try tx.query("SELECT partition FROM partition_owners WHERE partition = 0 AND epoch = 10 FOR SHARE")
                    Thread.sleep(forTimeInterval: 12)
                    _ = try tx.query("UPDATE work_items SET value = value + 1 WHERE partition = 0")
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            let clock = ContinuousClock()
            let start = clock.now
            var configuration = WorkerConfiguration(name: WorkerName(rawValue: "b")!)
            configuration.databaseURL = store.pool.configuration.url
            let other = WorkStore(configuration: configuration)
            let claimed = try await other.claim([grant(0, 20)], number: 1, worker: "b")
            await other.shutdown()
            print("the newer claim went through \(clock.now - start) after it was made (a measurement)")
            #expect(claimed.claimed == [grant(0, 20)])
            await #expect(throws: PostgresError.self) { try await stopped.value }
            let written = try await store.pool.query("SELECT count(*) FROM work_items WHERE partition = 0 AND value > 0")
            #expect(try written[0].decode(Int.self, at: 0) == 0, "the stopped transaction wrote nothing")
        }
    }

    @Test("a work round returns the touched count and a sample of at most 20 ids")
    func sample() async throws {
        try await withStore(items: 50) { store in
            let all = (0..<8).map { grant(Partition($0), 5) }
            _ = try await store.claim(all, number: 0, worker: "a")
            let result = try await store.work(all, worker: "a")
            #expect(result.rowsTouched == 50)
            #expect(result.sampleIDs.count == 20)
            #expect(result.sampleIDs == result.sampleIDs.sorted())
            // Rows per partition, as PostgreSQL counts them (the load a pool balanced by load is told).
            let counted = try await store.pool.query("SELECT partition, count(*) FROM work_items GROUP BY partition")
            var expected: [Partition: Int] = [:]
            for row in counted { expected[Partition(try row.decode(Int.self, at: 0))] = try row.decode(Int.self, at: 1) }
            #expect(result.rowsByPartition == expected && expected.values.reduce(0, +) == 50)
            // Only the partitions worked count: a round over two of them reports those two.
            let two = try await store.work(Array(all.prefix(2)), worker: "a")
            #expect(
                two.rowsByPartition == expected.filter { $0.key.rawValue < 2 } && two.rowsTouched == two.rowsByPartition.values.reduce(0, +)
            )
        }
    }
}
