import Coordination
import Foundation
import Partitioning
import PostgresAdapter
import TestSupport
import Testing

@testable import Worker

/// The whole system on real servers: a control-plane process, worker processes, Redis and PostgreSQL.
/// Every test ends by checking the audit: no row was ever written by a worker that did not own its partition.
@Suite(.serialized, .enabled(if: TestServers.runRedisTests && TestServers.runPostgresTests))
struct SystemTests {
    static let all: Set = ["worker-0", "worker-1", "worker-2"]

    @Test("three workers split 1024 partitions, each owned once within the balance bound, and process every row")
    func threeWorkersSplitAndWork() async throws {
        try await SystemHarness.with(workers: 3) { system in
            try await eventually("1024 partitions owned by three workers", within: .seconds(30)) {
                try await system.isSettled(on: Self.all)
            }
            let counts = try await system.ownerCounts()
            let bound = Int((1.1 * 1024 / 3).rounded(.up))
            #expect(counts.values.reduce(0, +) == 1024)
            #expect(counts.values.allSatisfy { $0 <= bound }, "\(counts) over the bound \(bound)")

            var numbers: [WorkerNumber] = []
            for name in Self.all {
                let status = try #require(try await system.status(name))
                let number = try #require(status.number)
                numbers.append(number)
                #expect(status.consumerGroup == "inbox-\(number)")
                #expect(status.claimedCount == counts[name])
                #expect(status.leaseRemainingMillis > 0)
            }
            #expect(Set(numbers) == [0, 1, 2])

            // Every row's value grows and its current_worker is its partition's owner.
            let before = try await values(system)
            try await eventually("every row's value grew", within: .seconds(10)) {
                let after = try await values(system)
                return after.allSatisfy { id, value in value > before[id, default: .max] }
            }
            let strays = try await system.database.query(
                """
                SELECT count(*) FROM work_items w JOIN partition_owners o USING (partition)
                WHERE w.current_worker IS DISTINCT FROM o.worker
                """)
            #expect(try strays[0].decode(Int.self, at: 0) == 0)
            let logged = try String(contentsOfFile: system.worker("worker-0").logPath, encoding: .utf8)
            #expect(logged.contains("consumerGroup=inbox-"))
            #expect(logged.contains("worked"))

            // Its metrics count the rounds and time them.
            let metrics = String(decoding: try await system.get(system.workerURL("worker-0") + "/metrics").body, as: UTF8.self)
            func sample(_ name: String) -> Double? {
                metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
            }
            let rounds = try #require(sample("rollcall_worker_work_rounds_total"))
            #expect(rounds > 0 && (sample("rollcall_worker_work_round_seconds_count") ?? 0) >= rounds, "\(metrics)")
            #expect((sample("rollcall_worker_work_round_seconds_sum") ?? 0) > 0)
            #expect((sample("rollcall_worker_claim_round_seconds_count") ?? 0) >= 1)
            #expect((sample("rollcall_worker_rows_touched_total") ?? 0) >= rounds)
        }
    }

    @Test("10,000 ids from three workers are unique and carry each worker's number; bad counts are refused")
    func idsAreUnique() async throws {
        try await SystemHarness.with(workers: 3, items: 10) { system in
            try await eventually("three safe leases", within: .seconds(30)) { try await system.isSettled(on: Self.all) }
            var all: [String] = []
            for (index, name) in Self.all.sorted().enumerated() {
                let status = try #require(try await system.status(name))
                let url = system.workers[name]!.url
                var ids: [String] = []
                for count in [4096, 3000 - index] {
                    let response = try await system.get("\(url)/v1/ids?count=\(count)")
                    #expect(response.status == 200)
                    ids += try JSONDecoder().decode([String: [String]].self, from: response.body)["ids"] ?? []
                }
                for _ in 0..<100 {
                    let response = try await system.get("\(url)/v1/id")
                    ids += try JSONDecoder().decode([String: String].self, from: response.body)["id"].map { [$0] } ?? []
                }
                #expect(ids.allSatisfy { Int64($0).map { SnowflakeID(rawValue: $0).workerNumber } == status.number })
                all += ids
                for bad in ["0", "4097", "-1", "abc", ""] {
                    let response = try await system.get("\(url)/v1/ids?count=\(bad)")
                    #expect(response.status == 400)
                    #expect(try JSONDecoder().decode(ErrorBody.self, from: response.body).error == "invalid_count")
                }
            }
            let expected = 3 * 4096 + 3000 + 2999 + 2998 + 300
            #expect(all.count == expected)
            #expect(Set(all).count == all.count, "duplicate ids")
        }
    }

    @Test("a SIGKILLed worker's partitions are claimed by the others under newer epochs, and only after its lease ended")
    func crashTakeover() async throws {
        try await SystemHarness.with(workers: 3) { system in
            try await eventually("settled") { try await system.isSettled(on: Self.all) }
            system.worker("worker-2").signal(SIGKILL)
            // Its record stays listed until it expires: its expiry is that of its last renewal.
            let killed = try #require(try await system.leases()["worker-2"])
            let before = try await system.claimRows()
            let took = try await eventually("the others own every partition") {
                Set(try await system.owners().values) == ["worker-0", "worker-1"]
            }
            print("takeover after SIGKILL: \(took) (lease TTL \(SystemHarness.leaseTTL); a measurement, not a limit)")
            let after = try await system.claimRows()
            let moved = before.filter { $0.value.worker == "worker-2" }.map(\.key)
            #expect(!moved.isEmpty)
            let expiry = try #require(Self.millis(killed.expiresAt))
            for partition in moved {
                let (old, new) = (before[partition]!, after[partition]!)
                #expect(new.epoch > old.epoch, "partition \(partition) was claimed again under epoch \(new.epoch) <= \(old.epoch)")
                #expect(
                    new.claimedAtMillis >= expiry,
                    "partition \(partition) was claimed \(expiry - new.claimedAtMillis) ms before worker-2's lease ended")
            }
            #expect(try await system.leases()["worker-2"] == nil)
            try await eventually("settled on two") { try await system.isSettled(on: ["worker-0", "worker-1"]) }
        }
    }

    @Test("a SIGTERMed worker releases its lease and exits 0, and its partitions move before that lease would have expired")
    func drainTakeover() async throws {
        try await SystemHarness.with(workers: 3) { system in
            try await eventually("settled") { try await system.isSettled(on: Self.all) }
            let before = try await system.claimRows()
            // The lease's expiry as renewed last before the drain: a crash would free it no sooner.
            let draining = try #require(try await system.leases()["worker-1"])
            let expiry = try #require(Self.millis(draining.expiresAt))
            let clock = ContinuousClock()
            let start = clock.now
            system.worker("worker-1").signal(SIGTERM)
            let took = try await eventually("the others own every partition") {
                Set(try await system.owners().values) == ["worker-0", "worker-2"]
            }
            let status = await system.worker("worker-1").waitForExit(timeout: .seconds(60))
            #expect(status == 0, "the drained worker exited with \(status.map(String.init) ?? "nothing")")
            print(
                "takeover after SIGTERM: \(took), exit after \(clock.now - start) (heartbeat interval \(SystemHarness.heartbeatInterval); measurements)"
            )
            #expect(try await system.leases()["worker-1"] == nil, "the drained worker released its lease")
            // A drain hands on at once: every moved partition was claimed again, under a newer epoch, before
            // the released lease would have expired (which is all a crash waits for).
            let after = try await system.claimRows()
            let moved = before.filter { $0.value.worker == "worker-1" }.map(\.key)
            #expect(!moved.isEmpty)
            for partition in moved {
                #expect(after[partition]!.epoch > before[partition]!.epoch)
                #expect(
                    after[partition]!.claimedAtMillis < expiry, "partition \(partition) moved only once the lease expired, as after a crash"
                )
            }
        }
    }

    /// An RFC 3339 timestamp with milliseconds (`expiresAt`) in ms since 1970.
    static func millis(_ timestamp: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: timestamp).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
    }

    @Test("a worker paused past its TTL writes nothing to the partitions it lost, then gets a fresh lease")
    func pausedWorkerIsFenced() async throws {
        try await SystemHarness.with(workers: 2) { system in
            let both: Set = ["worker-0", "worker-1"]
            try await eventually("settled", within: .seconds(30)) { try await system.isSettled(on: both) }
            let before = try #require(try await system.status("worker-0"))
            let paused = system.worker("worker-0")
            paused.signal(SIGSTOP)
            try await eventually("worker-1 owns every partition") {
                Set(try await system.owners().values) == ["worker-1"]
            }
            try await Task.sleep(for: .seconds(1))
            paused.signal(SIGCONT)
            try await eventually("worker-0 holds a fresh lease and its share again", within: .seconds(20)) {
                guard let status = try await system.status("worker-0"), let epoch = status.epoch, let old = before.epoch else {
                    return false
                }
                guard epoch > old else { return false }
                return try await system.isSettled(on: both)
            }
            let log = try String(contentsOfFile: paused.logPath, encoding: .utf8)
            #expect(log.contains("lease lost"))
        }
    }

    @Test("/v1/id and /readyz answer 503 while the lease is unsafe, and recover with it")
    func idsStopWhileUnsafe() async throws {
        try await SystemHarness.with(workers: 1, items: 10) { system in
            try await eventually("settled", within: .seconds(30)) { try await system.isSettled(on: ["worker-0"]) }
            let url = system.workers["worker-0"]!.url
            #expect(try await system.get(url + "/v1/id").status == 200)
            system.controlPlane.signal(SIGSTOP)
            try await eventually("the lease is unsafe") {
                try await system.status("worker-0")?.safe == false
            }
            let refused = try await system.get(url + "/v1/id")
            #expect(refused.status == 503)
            #expect(try JSONDecoder().decode(ErrorBody.self, from: refused.body).error == "lease_unsafe")
            #expect(try await system.get(url + "/v1/ids?count=5").status == 503)
            #expect(try await system.get(url + "/readyz").status == 503)
            #expect(try await system.get(url + "/healthz").status == 200)
            let status = try #require(try await system.status("worker-0"))
            #expect(status.number == nil && status.partitions.isEmpty)
            system.controlPlane.signal(SIGCONT)
            try await eventually("ids again", within: .seconds(10)) { try await system.get(url + "/v1/id").status == 200 }
            #expect(try await system.get(url + "/readyz").status == 200)
        }
    }

    @Test("another process heartbeats as a worker's instance, far ahead in sequence, and releases it: the worker goes on as a new instance")
    func impostorOfInstance() async throws {
        try await SystemHarness.with(workers: 1, items: 10) { system in
            try await eventually("settled", within: .seconds(30)) { try await system.isSettled(on: ["worker-0"]) }
            // The instance is public (GET /v1/workers lists it); a fuzzer or a confused client can send it.
            let stolen = try #require(try await system.status("worker-0")).instance
            let workerURL = system.controlPlaneURL + "/v1/workers/worker-0"
            let impostor = #"{"instance": "\#(stolen)", "sequence": 9007199254740992, "held": []}"#
            #expect(try await system.request(.POST, workerURL + "/heartbeat", json: impostor).status == 200)
            #expect(try await system.request(.DELETE, workerURL + "?instance=\(stolen)").status == 204)
            // The store now refuses that instance's requests as stale (for 10 minutes); the worker notices
            // on its second stale answer, drops the lease, and leases the free name as a new instance.
            try await eventually("a safe lease as a new instance") {
                guard let status = try await system.status("worker-0") else { return false }
                return status.safe && status.instance != stolen
            }
            let log = try String(contentsOfFile: system.worker("worker-0").logPath, encoding: .utf8)
            #expect(log.contains("another process sends heartbeats as this instance"))
            try await eventually("settled again", within: .seconds(10)) { try await system.isSettled(on: ["worker-0"]) }
        }
    }

    @Test("PostgreSQL restarted mid-run: workers reconnect and continue, and no row is owned twice")
    func postgresRestart() async throws {
        let postgres = try PrivatePostgres()
        try await postgres.start()
        defer { postgres.remove() }
        try await SystemHarness.with(workers: 2, adminDatabaseURL: postgres.url) { system in
            let both: Set = ["worker-0", "worker-1"]
            try await eventually("settled", within: .seconds(30)) { try await system.isSettled(on: both) }
            try await postgres.stop()
            try await Task.sleep(for: .seconds(2))
            try await postgres.start()
            let restarted = Date()
            try await eventually("work resumes on every row", within: .seconds(20)) {
                let rows = try await system.database.query(
                    "SELECT count(*) FROM work_items WHERE updated_at IS NULL OR updated_at < $1::timestamptz",
                    [ISO8601DateFormatter().string(from: restarted)])
                return try rows[0].decode(Int.self, at: 0) == 0
            }
            try await eventually("settled again", within: .seconds(10)) { try await system.isSettled(on: both) }
            #expect(system.worker("worker-0").isRunning && system.worker("worker-1").isRunning)
        }
    }

    @Test(
        "an asynchronous standby promoted without the last handoff's claims: every partition is worked again without the paused worker, and only by its owner"
    )
    func asynchronousFailoverLosingClaims() async throws {
        try await PrivatePostgres.withPrimaryAndStandby { primary, standby in
            try await SystemHarness.with(workers: 0, adminDatabaseURL: primary.url, standbyHosts: ["127.0.0.1:\(standby.port)"]) { system in
                try await standby.startStandby(of: primary)
                let all: Set = ["worker-0", "worker-1", "worker-2"]
                for name in all.sorted() { try system.startWorker(name) }
                try await eventually("settled") { try await system.isSettled(on: all) }
                // From here the standby misses what the primary commits: the handoff below exists only there.
                try await standby.stopReceiving()
                let paused = system.worker("worker-0")
                paused.signal(SIGSTOP)
                try await eventually("worker-1 and worker-2 claimed worker-0's partitions on the primary") {
                    Set(try await system.owners().values) == ["worker-1", "worker-2"]
                }
                try primary.kill()
                try await standby.promote()
                // On the promoted standby worker-0 still owns a third of the rows, under its older epochs.
                // The harness's own pool follows it too: its first calls find the old connections dead, then the new timeline.
                var promotedAt = ""
                try await eventually("the harness reaches the promoted standby") {
                    promotedAt = try await system.database.query("SELECT now()::text")[0].decode(String.self, at: 0)
                    return true
                }
                let took = try await eventually("every row is worked again after the promotion") {
                    let rows = try await system.database.query(
                        "SELECT count(*) FROM work_items WHERE updated_at IS NULL OR updated_at <= $1::timestamptz", [promotedAt])
                    return try rows[0].decode(Int.self, at: 0) == 0
                }
                print("every row worked again \(took) after the promotion (a measurement)")
                #expect(Set(try await system.owners().values) == ["worker-1", "worker-2"])
                for name in ["worker-1", "worker-2"] {
                    let log = try String(contentsOfFile: system.worker(name).logPath, encoding: .utf8)
                    #expect(log.contains("PostgreSQL failed over"), "\(name) did not notice the new timeline")
                    #expect(log.contains("PostgreSQL commits do not wait for a standby"), "\(name) did not say it is asynchronous")
                    #expect(!log.contains("a newer grant claimed these partitions"), "\(name) took a lost claim for a newer grant's")
                }
            }
        }
    }

    @Test("Redis loses everything mid-run: running workers keep their numbers, epochs and partitions; a newcomer waits")
    func redisWiped() async throws {
        try await SystemHarness.with(workers: 2) { system in
            let both: Set = ["worker-0", "worker-1"]
            try await eventually("settled", within: .seconds(30)) { try await system.isSettled(on: both) }
            var before: [WorkerStatus] = []
            for name in both.sorted() { before.append(try #require(try await system.status(name))) }
            try await system.wipeRedis()
            try system.startWorker("worker-2")
            // For a second (a third of the lease TTL) the two keep working under the same lease, and the
            // newcomer never shows one of their numbers as safe.
            let until = ContinuousClock.now + .seconds(1)
            while ContinuousClock.now < until {
                for old in before {
                    let now = try #require(try await system.status(old.name))
                    #expect(now.safe && now.number == old.number && now.epoch == old.epoch, "\(old.name) lost its lease: \(now)")
                }
                let newcomer = try await system.status("worker-2")
                #expect(
                    newcomer?.safe != true || !before.map(\.number).contains(newcomer?.number),
                    "worker-2 is safe on a number another worker holds")
                try await Task.sleep(for: .milliseconds(50))
            }
            try await eventually("settled on all three", within: .seconds(20)) {
                try await system.isSettled(on: both.union(["worker-2"]))
            }
        }
    }

    private func values(_ system: SystemHarness) async throws -> [String: Int] {
        let rows = try await system.database.query("SELECT id::text, value FROM work_items")
        return Dictionary(
            uniqueKeysWithValues: try rows.map { row throws(PostgresError) in
                (try row.decode(String.self, at: 0), try row.decode(Int.self, at: 1))
            })
    }
}
