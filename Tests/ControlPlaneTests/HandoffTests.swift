import Coordination
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import ControlPlane

@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct HandoffTests {
    @Test("a partition moving from A to B is revoked from A first and granted to B only after A stops reporting it")
    func revokeBeforeGrant() async throws {
        let harness = try ControlPlaneHarness(.test())
        try await harness.test { client async throws in
            // A alone: after the rebalancer publishes, A is granted every partition.
            var a = try await client.beat("pod-a")
            try await eventually(within: .seconds(10)) {
                a = try await client.beat("pod-a", held: a.partitions)
                return a.partitions.count == 1024
            }
            let heldByA = a.partitions

            // B joins; wait until the new layout is published.
            var b = try await client.beat("pod-b")
            let version = b.layoutVersion
            try await eventually(within: .seconds(10)) { try await harness.store.layout().members == [0, 1] }
            let layout = try await harness.store.layout()
            #expect(layout.version > version)
            let moving = Set(layout.owners.indices.filter { layout.owners[$0] == 1 }.map { Partition($0) })
            #expect(!moving.isEmpty)

            // B asks before A has heard: nothing that A holds is granted to B.
            b = try await client.beat("pod-b", held: b.partitions)
            #expect(Set(b.partitions).isDisjoint(with: moving))

            // A's heartbeat, still holding everything, is told to stop the moving partitions.
            a = try await client.beat("pod-a", held: heldByA)
            #expect(Set(a.revoked) == moving)
            #expect(Set(a.partitions).isDisjoint(with: moving))

            // While A keeps reporting them held, B still does not get them.
            b = try await client.beat("pod-b", held: b.partitions)
            #expect(Set(b.partitions).isDisjoint(with: moving))

            // A lets go; B's very next heartbeat gets them all.
            a = try await client.beat("pod-a", held: a.partitions)
            #expect(a.revoked.isEmpty)
            b = try await client.beat("pod-b", held: b.partitions)
            #expect(Set(b.partitions) == moving)

            // Every partition is granted to exactly one of them.
            #expect(Set(a.partitions).isDisjoint(with: b.partitions))
            #expect(a.partitions.count + b.partitions.count == 1024)
        }
    }

    @Test("a replica that takes the leader lease back after losing it publishes nothing when Redis has the layout it would publish")
    func leaderTakingBackAdoptsTheLayout() async throws {
        let harness = try ControlPlaneHarness(.test(leaseTTL: .seconds(120)))
        try await harness.test { client async throws in
            _ = try await client.beat("pod-a")
            _ = try await client.beat("pod-b")
            try await harness.settled()
            let before = try await harness.store.layout()
            // Another replica holds the leader lease (as after this one stalled past it) until this one has
            // seen it lost, however late its next round comes; then the lease is free again.
            let leader = harness.controlKeys[.leader]
            _ = try await harness.app.redis.command(["SET", leader, "another-replica", "PX", "60000"], retry: .never)
            try await eventually("this replica saw it lost the lease") { harness.metricsText.contains("rollcall_rebalancer_leader 0") }
            _ = try await harness.app.redis.command(["DEL", leader], retry: .never)
            try await eventually("and took it back") { harness.metricsText.contains("rollcall_rebalancer_leader 1") }
            try await Task.sleep(for: .milliseconds(300))  // six rebalancer rounds as the leader again
            let after = try await harness.store.layout()
            #expect(after.version == before.version, "the same layout was published again as version \(after.version)")
            #expect(after.members == before.members && after.owners == before.owners, "the layout itself changed")
        }
    }

    @Test("an expired worker's partitions are granted to the others without waiting for it")
    func expiredOwnerReleases() async throws {
        let harness = try ControlPlaneHarness(.test(leaseTTL: .milliseconds(700)))
        try await harness.test { client async throws in
            var a = try await client.beat("pod-a")
            var b = try await client.beat("pod-b")
            try await eventually(within: .seconds(10)) {
                a = try await client.beat("pod-a", held: a.partitions)
                b = try await client.beat("pod-b", held: b.partitions)
                return a.partitions.count + b.partitions.count == 1024
            }
            // A goes silent, still "holding" its partitions; its lease expires and B takes everything.
            try await eventually(within: .seconds(10)) {
                b = try await client.beat("pod-b", held: b.partitions)
                return b.partitions.count == 1024
            }
        }
    }

    @Test("a partition's grant epoch grows with every handoff, also when it moves to an older lease")
    func grantEpochsGrowOnHandoff() async throws {
        let harness = try ControlPlaneHarness(.test(leaseTTL: .milliseconds(700)))
        try await harness.test { client async throws in
            var a = try await client.beat("pod-a")
            var b = try await client.beat("pod-b")
            #expect(b.epoch > a.epoch, "B's lease is the newer one")
            try await eventually(within: .seconds(10)) {
                a = try await client.beat("pod-a", held: a.partitions)
                b = try await client.beat("pod-b", held: b.partitions)
                return a.partitions.count + b.partitions.count == 1024
            }
            let epochsOfB = Dictionary(uniqueKeysWithValues: zip(b.partitions, try #require(b.partitionEpochs)))
            #expect(epochsOfB.values.allSatisfy { $0 > b.epoch }, "a grant's epoch is newer than the lease it is granted under")
            // B goes silent; A, the older lease, takes B's partitions under epochs newer than B's grants.
            try await eventually(within: .seconds(10)) {
                a = try await client.beat("pod-a", held: a.partitions)
                return a.partitions.count == 1024
            }
            let epochsOfA = Dictionary(uniqueKeysWithValues: zip(a.partitions, try #require(a.partitionEpochs)))
            for (partition, epoch) in epochsOfB { #expect(try #require(epochsOfA[partition]) > epoch) }
        }
    }

    @Test("partitions a worker reports held but was never granted are revoked")
    func strayHeldRevoked() async throws {
        try await ControlPlaneHarness(.test()).test { client async throws in
            var a = try await client.beat("pod-a")
            try await eventually(within: .seconds(10)) {
                a = try await client.beat("pod-a", held: a.partitions)
                return a.partitions.count == 1024
            }
            let b = try await client.beat("pod-b", held: [1, 2, 3])
            #expect(Set(b.revoked).isSuperset(of: [1, 2, 3]))
            #expect(Set(b.partitions).isDisjoint(with: [1, 2, 3]))
        }
    }

    @Test("GET /v1/layout lists version, members and owners[p] for every partition")
    func layoutRoute() async throws {
        try await ControlPlaneHarness(.test()).test { client async throws in
            let empty = try JSONDecoder().decode(PublishedLayout.self, from: Data(buffer: try await client.get("/v1/layout").body))
            // Before any worker: no members, every partition unowned (the leader may already have published that).
            #expect(empty.members.isEmpty && empty.owners.count == 1024 && empty.owners.allSatisfy { $0 == nil })
            _ = try await client.beat("pod-a")
            _ = try await client.beat("pod-b")
            var snapshot = empty
            try await eventually(within: .seconds(10)) {
                snapshot = try JSONDecoder().decode(
                    PublishedLayout.self, from: Data(buffer: try await client.get("/v1/layout").body))
                return snapshot.members == [0, 1]
            }
            #expect(snapshot.partitionCount == 1024 && snapshot.owners.count == 1024)
            #expect(snapshot.owners.allSatisfy { $0 == 0 || $0 == 1 })
        }
    }
}

@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct BadInputTests {
    @Test(
        "bad JSON, wrong field types, out-of-range values, oversized bodies and invalid names get a 4xx JSON error and change nothing",
        arguments: [
            ("pod-a", "{not json", 400, "invalid_body"),
            ("pod-a", "", 400, "invalid_body"),
            ("pod-a", #"{"instance": 5}"#, 400, "invalid_body"),
            ("pod-a", #"{"held": [1]}"#, 400, "invalid_body"),
            ("pod-a", #"{"instance": "i1", "held": "3"}"#, 400, "invalid_body"),
            ("pod-a", #"{"instance": "i1", "held": [1024]}"#, 400, "invalid_held"),
            ("pod-a", #"{"instance": "i1", "held": [-1]}"#, 400, "invalid_held"),
            ("pod-a", #"{"instance": "i1", "epoch": -5}"#, 400, "invalid_body"),
            ("pod-a", #"{"instance": "i1", "number": 5000}"#, 400, "invalid_body"),
            ("pod-a", #"{"instance": "i1", "number": 600}"#, 400, "invalid_number"),
            ("pod-a", #"{"instance": "i1", "sequence": 0}"#, 400, "invalid_sequence"),
            ("pod-a", #"{"instance": "i1", "sequence": -3}"#, 400, "invalid_sequence"),
            ("pod-a", #"{"instance": "i1", "sequence": 9007199254740993}"#, 400, "invalid_sequence"),
            ("pod-a", #"{"instance": "i1", "sequence": 1.5}"#, 400, "invalid_body"),
            ("pod-a", #"{"instance": "i1", "held": [1, 2], "heldEpochs": [5]}"#, 400, "invalid_held"),
            ("pod-a", #"{"instance": "i1", "heldEpochs": [5]}"#, 400, "invalid_held"),
            ("pod-a", #"{"instance": "i1", "generation": "x\\\"y"}"#, 400, "invalid_generation"),
            ("pod-a", #"{"instance": "i1", "generation": ""}"#, 400, "invalid_generation"),
            ("pod-a", #"{"instance": "i1",}"#, 400, "invalid_body"),
            ("pod-a", #"{"instance": "i1", "held": [1,]}"#, 400, "invalid_body"),
            ("pod-a", #"{"instance": "i1"} {"instance": "i2"}"#, 400, "invalid_body"),
            (".", #"{"instance": "i1"}"#, 400, "invalid_name"),
            ("-", #"{"instance": "i1"}"#, 400, "invalid_name"),
            ("a..b", #"{"instance": "i1"}"#, 400, "invalid_name"),
            ("pod-a-", #"{"instance": "i1"}"#, 400, "invalid_name"),
            ("pod-a", #"{"instance": "has space"}"#, 400, "invalid_instance"),
            ("pod-a", #"{"instance": ""}"#, 400, "invalid_instance"),
            ("Pod-A", #"{"instance": "i1"}"#, 400, "invalid_name"),
            ("pod_a", #"{"instance": "i1"}"#, 400, "invalid_name"),
            (String(repeating: "a", count: 254), #"{"instance": "i1"}"#, 400, "invalid_name"),
        ])
    func refused(name: String, body: String, status: Int, code: String) async throws {
        var configuration = try ControlPlaneConfiguration.test(leaseTTL: .seconds(120))
        configuration.lease.maxWorkers = 512
        let harness = try ControlPlaneHarness(configuration)
        try await harness.test { client async throws in
            _ = try await client.beat("pod-z")
            try await harness.settled()
            let before = try await harness.snapshot()
            let response = try await client.heartbeat(name, body: body)
            #expect(response.status.code == status)
            #expect(response.errorCode == code, "\(String(buffer: response.body))")
            #expect(response.headers[.contentType] == "application/json")
            let after = try await harness.snapshot()
            #expect(after.filter { !$0.key.hasSuffix("rollcall:leader") } == before.filter { !$0.key.hasSuffix("rollcall:leader") })
        }
    }

    @Test("a body over the 64 KiB limit gets 413 and changes nothing")
    func oversizedBody() async throws {
        let harness = try ControlPlaneHarness(.test(leaseTTL: .seconds(120)))
        try await harness.test { client async throws in
            _ = try await client.beat("pod-z")
            try await harness.settled()
            let before = try await harness.snapshot()
            let held = (0..<20000).map(String.init).joined(separator: ",")
            let response = try await client.heartbeat("pod-a", body: #"{"instance": "i1", "held": [\#(held)]}"#)
            #expect(response.status == .contentTooLarge)
            #expect(response.errorCode == "body_too_large")
            let after = try await harness.snapshot()
            #expect(after.filter { !$0.key.hasSuffix("rollcall:leader") } == before.filter { !$0.key.hasSuffix("rollcall:leader") })
        }
    }

    @Test("unknown routes and methods get a JSON 404")
    func unknownRoute() async throws {
        try await ControlPlaneHarness(.test()).test { client async throws in
            let response = try await client.get("/v1/nothing/here")
            #expect(response.status == .notFound)
            #expect(response.errorCode == "not_found")
        }
    }
}

@Suite(.enabled(if: TestServers.runRedisTests, "needs redis-server on PATH (scripts/test installs it)"))
struct RedisOutageTests {
    @Test("with Redis stopped, heartbeats and /readyz answer 503 within the timeout; after a restart it recovers by itself")
    func outageAndRecovery() async throws {
        let server = try RedisServerProcess()
        try server.start()
        let harness = try ControlPlaneHarness(.test(redisURL: server.url))
        try await harness.test { client async throws in
            #expect(try await client.beat("pod-a").number == 0)
            #expect(try await client.get("/readyz").status == .ok)

            server.stop()
            let start = ContinuousClock.now
            let down = try await client.heartbeat("pod-a", body: #"{"instance": "i1"}"#)
            #expect(down.status == .serviceUnavailable)
            #expect(down.errorCode == "store_unavailable")
            #expect(down.headers[.retryAfter] == "1")
            // Not a speed limit: a refused connection answers at once; this only tells "answered" from
            // "hung until the worker gave up", with room for a loaded machine.
            #expect(ContinuousClock.now - start < .seconds(15))
            #expect(try await client.get("/readyz").status == .serviceUnavailable)
            #expect(try await client.get("/healthz").status == .ok)
            // The leader-lease round is the health probe the RollcallRedisUnreachable alert reads.
            try await eventually(within: .seconds(5)) { harness.metricsText.contains("rollcall_redis_reachable 0") }
            let overview = try await client.get("/v1/overview")
            #expect(overview.status == .serviceUnavailable && overview.errorCode == "store_unavailable")

            try server.start()
            try await eventually(within: .seconds(5)) { try await client.get("/readyz").status == .ok }
            try await eventually(within: .seconds(5)) { harness.metricsText.contains("rollcall_redis_reachable 1") }
            // The restarted Redis is empty and this replica had seen it before: lost state is waited out
            // (503 recovering) for a lease TTL plus the quarantine, then the worker gets a fresh lease and
            // the scripts load again.
            let waiting = try await client.untilStoreAnswers("pod-a", #"{"instance": "i1"}"#)
            #expect(waiting.status == .serviceUnavailable)
            #expect(waiting.errorCode == "recovering")
            var number: Int?
            try await eventually(within: .seconds(10)) {
                number = try await client.heartbeat("pod-a", body: #"{"instance": "i1"}"#).json.int("number")
                return number != nil
            }
            #expect(number == 0)
        }
        server.stop()
    }
}
