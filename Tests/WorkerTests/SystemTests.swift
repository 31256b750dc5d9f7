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
            try await system.eventually("1024 partitions owned by three workers", within: .seconds(30)) {
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
            try await system.eventually("every row's value grew", within: .seconds(10)) {
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
        }
    }

    @Test("10,000 ids from three workers are unique and carry each worker's number; bad counts are refused")
    func idsAreUnique() async throws {
        try await SystemHarness.with(workers: 3, items: 10) { system in
            try await system.eventually("three safe leases", within: .seconds(30)) { try await system.isSettled(on: Self.all) }
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

    @Test("a SIGKILLed worker's partitions are owned by the others within TTL + 1 s")
    func crashTakeover() async throws {
        try await SystemHarness.with(workers: 3) { system in
            try await system.eventually("settled", within: .seconds(30)) { try await system.isSettled(on: Self.all) }
            system.worker("worker-2").signal(SIGKILL)
            let took = try await system.eventually("the others own every partition", within: SystemHarness.leaseTTL + .seconds(1)) {
                Set(try await system.owners().values) == ["worker-0", "worker-1"]
            }
            print("takeover after SIGKILL: \(took) (lease TTL \(SystemHarness.leaseTTL))")
            try await system.eventually("settled on two", within: .seconds(10)) {
                try await system.isSettled(on: ["worker-0", "worker-1"])
            }
        }
    }

    @Test("a SIGTERMed worker exits 0 within 2 s and its partitions move within one heartbeat + 0.5 s")
    func drainTakeover() async throws {
        try await SystemHarness.with(workers: 3) { system in
            try await system.eventually("settled", within: .seconds(30)) { try await system.isSettled(on: Self.all) }
            let clock = ContinuousClock()
            let start = clock.now
            system.worker("worker-1").signal(SIGTERM)
            let took = try await system.eventually(
                "the others own every partition", within: SystemHarness.heartbeatInterval + .milliseconds(500)
            ) {
                Set(try await system.owners().values) == ["worker-0", "worker-2"]
            }
            let status = await system.worker("worker-1").waitForExit(timeout: .seconds(2) - (clock.now - start))
            #expect(status == 0, "the drained worker did not exit 0 within 2 s")
            print("takeover after SIGTERM: \(took) (heartbeat interval \(SystemHarness.heartbeatInterval))")
            let workers = try await system.get(system.controlPlaneURL + "/v1/workers")
            #expect(!String(decoding: workers.body, as: UTF8.self).contains("worker-1"), "the drained worker released its lease")
        }
    }

    @Test("a worker paused past its TTL writes nothing to the partitions it lost, then gets a fresh lease")
    func pausedWorkerIsFenced() async throws {
        try await SystemHarness.with(workers: 2) { system in
            let both: Set = ["worker-0", "worker-1"]
            try await system.eventually("settled", within: .seconds(30)) { try await system.isSettled(on: both) }
            let before = try #require(try await system.status("worker-0"))
            let paused = system.worker("worker-0")
            paused.signal(SIGSTOP)
            try await system.eventually("worker-1 owns every partition", within: SystemHarness.leaseTTL + .seconds(3)) {
                Set(try await system.owners().values) == ["worker-1"]
            }
            try await Task.sleep(for: .seconds(1))
            paused.signal(SIGCONT)
            try await system.eventually("worker-0 holds a fresh lease and its share again", within: .seconds(20)) {
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
            try await system.eventually("settled", within: .seconds(30)) { try await system.isSettled(on: ["worker-0"]) }
            let url = system.workers["worker-0"]!.url
            #expect(try await system.get(url + "/v1/id").status == 200)
            system.controlPlane.signal(SIGSTOP)
            try await system.eventually("the lease is unsafe", within: SystemHarness.leaseTTL + .seconds(2)) {
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
            try await system.eventually("ids again", within: .seconds(10)) { try await system.get(url + "/v1/id").status == 200 }
            #expect(try await system.get(url + "/readyz").status == 200)
        }
    }

    @Test("another process heartbeats as a worker's instance, far ahead in sequence, and releases it: the worker goes on as a new instance")
    func impostorOfInstance() async throws {
        try await SystemHarness.with(workers: 1, items: 10) { system in
            try await system.eventually("settled", within: .seconds(30)) { try await system.isSettled(on: ["worker-0"]) }
            // The instance is public (GET /v1/workers lists it); a fuzzer or a confused client can send it.
            let stolen = try #require(try await system.status("worker-0")).instance
            let workerURL = system.controlPlaneURL + "/v1/workers/worker-0"
            let impostor = #"{"instance": "\#(stolen)", "sequence": 9007199254740992, "held": []}"#
            #expect(try await system.request(.POST, workerURL + "/heartbeat", json: impostor).status == 200)
            #expect(try await system.request(.DELETE, workerURL + "?instance=\(stolen)").status == 204)
            // The store now refuses that instance's requests as stale (for 10 minutes); the worker notices
            // on its second stale answer, drops the lease, and leases the free name as a new instance.
            try await system.eventually("a safe lease as a new instance", within: SystemHarness.leaseTTL + .seconds(5)) {
                guard let status = try await system.status("worker-0") else { return false }
                return status.safe && status.instance != stolen
            }
            let log = try String(contentsOfFile: system.worker("worker-0").logPath, encoding: .utf8)
            #expect(log.contains("another process sends heartbeats as this instance"))
            try await system.eventually("settled again", within: .seconds(10)) { try await system.isSettled(on: ["worker-0"]) }
        }
    }

    @Test("PostgreSQL restarted mid-run: workers reconnect and continue, and no row is owned twice")
    func postgresRestart() async throws {
        let postgres = try PrivatePostgres()
        try await postgres.start()
        defer { postgres.remove() }
        try await SystemHarness.with(workers: 2, adminDatabaseURL: postgres.url) { system in
            let both: Set = ["worker-0", "worker-1"]
            try await system.eventually("settled", within: .seconds(30)) { try await system.isSettled(on: both) }
            try await postgres.stop()
            try await Task.sleep(for: .seconds(2))
            try await postgres.start()
            let restarted = Date()
            try await system.eventually("work resumes on every row", within: .seconds(20)) {
                let rows = try await system.database.query(
                    "SELECT count(*) FROM work_items WHERE updated_at IS NULL OR updated_at < $1::timestamptz",
                    [ISO8601DateFormatter().string(from: restarted)])
                return try rows[0].decode(Int.self, at: 0) == 0
            }
            try await system.eventually("settled again", within: .seconds(10)) { try await system.isSettled(on: both) }
            #expect(system.worker("worker-0").isRunning && system.worker("worker-1").isRunning)
        }
    }

    @Test("Redis loses everything mid-run: running workers keep their numbers, epochs and partitions; a newcomer waits")
    func redisWiped() async throws {
        try await SystemHarness.with(workers: 2) { system in
            let both: Set = ["worker-0", "worker-1"]
            try await system.eventually("settled", within: .seconds(30)) { try await system.isSettled(on: both) }
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
                if let newcomer = try await system.status("worker-2"), newcomer.safe {
                    #expect(!before.map(\.number).contains(newcomer.number), "worker-2 is safe on a number another worker holds")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            try await system.eventually("settled on all three", within: .seconds(20)) {
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
