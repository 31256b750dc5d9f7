import Coordination
import Foundation
import Hummingbird
import HummingbirdTesting
import RedisAdapter
import TestSupport
import Testing

@testable import ControlPlane

/// Pools: each its own numbers, partitions, layout and TTL; nothing that happens in one changes another.
@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct PoolTests {
    /// Two pools: `payments` (16 partitions, 2 numbers) and `tags` (numbers only, 4 numbers). Leases of
    /// 60 s: the tests beat once and look later, and a loaded test process stalled one past a 5 s lease.
    static func twoPools(leaseTTL: Duration = .seconds(60)) throws -> ControlPlaneConfiguration {
        try ControlPlaneConfiguration.test(leaseTTL: leaseTTL).declaring([
            (
                "payments",
                {
                    $0.partitionCount = 16; $0.maxWorkers = 2
                }
            ),
            (
                "tags",
                {
                    $0.partitionCount = 0; $0.maxWorkers = 4
                }
            ),
        ])
    }

    @Test("each pool leases its own numbers from 0, and a pool whose numbers are exhausted leaves the other's untouched")
    func numbersArePerPool() async throws {
        let harness = try ControlPlaneHarness(Self.twoPools())
        try await harness.test { client async throws in
            let a = try await client.beat("pod-a", pool: "payments")
            let b = try await client.beat("pod-b", pool: "payments")
            #expect([a.number, b.number] == [0, 1])
            #expect(a.consumerGroup == "payments-0" && a.partitionCount == 16)
            // The same name in another pool is another lease, with its own number.
            let tagA = try await client.beat("pod-a", pool: "tags")
            #expect(tagA.number == 0 && tagA.partitionCount == 0 && tagA.partitions.isEmpty && tagA.consumerGroup == "tags-0")
            let exhausted = try await client.heartbeat("pod-c", pool: "payments", body: #"{"instance": "i1"}"#)
            #expect(exhausted.status == .serviceUnavailable && exhausted.errorCode == "no_number_available")
            #expect(String(buffer: exhausted.body).contains("all 2 numbers"))
            for name in ["pod-c", "pod-d", "pod-e"] { _ = try await client.beat(name, pool: "tags") }
            let full = try await client.heartbeat("pod-b", pool: "tags", body: #"{"instance": "i1"}"#)
            #expect(full.status == .serviceUnavailable && String(buffer: full.body).contains("all 4 numbers"))
            #expect(try await client.beat("pod-a", pool: "tags").number == 0, "pod-a renews in tags as it was given")
            // payments' leases were not touched by tags filling up, and the reverse.
            #expect(try await client.beat("pod-a", pool: "payments", held: a.partitions).epoch == a.epoch)
            let tags = try await harness.pool("tags").workers()
            #expect(tags.map(\.number) == [0, 1, 2, 3] && tags.map(\.name) == ["pod-a", "pod-c", "pod-d", "pod-e"])
            #expect(try await harness.pool("payments").workers().map(\.name) == ["pod-a", "pod-b"])
        }
    }

    @Test("a pool's partitions are shared among its own members only; a join in one pool publishes no layout in another")
    func layoutsArePerPool() async throws {
        let configuration = try ControlPlaneConfiguration.test().declaring([
            ("one", { $0.partitionCount = 8 }), ("two", { $0.partitionCount = 32 }),
        ])
        let harness = try ControlPlaneHarness(configuration)
        try await harness.test { client async throws in
            var a = try await client.beat("pod-a", pool: "one")
            try await eventually("one's layout gives pod-a all 8") {
                a = try await client.beat("pod-a", pool: "one", held: a.partitions)
                return a.partitions.count == 8
            }
            let two = try await harness.pool("two").layout()
            var b = try await client.beat("pod-b", pool: "two")
            try await eventually("two's layout gives pod-b all 32") {
                b = try await client.beat("pod-b", pool: "two", held: b.partitions)
                return b.partitions.count == 32
            }
            #expect(try await harness.pool("two").layout().version > two.version)
            let one = try await harness.pool("one").layout()
            // pod-c joins two: two is recomputed, one is not.
            _ = try await client.beat("pod-c", pool: "two")
            try await eventually("two has pod-c") { try await harness.pool("two").layout().members.count == 2 }
            #expect(try await harness.pool("one").layout() == one, "a join in two published a layout in one")
            #expect(try await client.beat("pod-a", pool: "one", held: a.partitions).partitions.count == 8)
        }
    }

    @Test("each pool's lease TTL is its own: a silent worker of the short-TTL pool is reaped, the other pool's is not")
    func ttlIsPerPool() async throws {
        let configuration = try ControlPlaneConfiguration.test().declaring([
            (
                "fast",
                {
                    $0.leaseTTL = .milliseconds(400); $0.heartbeatInterval = .milliseconds(100); $0.partitionCount = 0
                }
            ),
            (
                "slow",
                {
                    $0.leaseTTL = .seconds(60); $0.partitionCount = 0
                }
            ),
        ])
        let harness = try ControlPlaneHarness(configuration)
        try await harness.test { client async throws in
            let fast = try await client.beat("pod-a", pool: "fast")
            _ = try await client.beat("pod-a", pool: "slow")
            #expect(fast.leaseTTLMillis == 400)
            // No heartbeat follows: only the leader's look at `fast`, due when its lease ends, can reap it.
            try await eventually("fast's lease is reaped") { try await harness.pool("fast").workers().isEmpty }
            #expect(try await harness.pool("slow").workers().map(\.name) == ["pod-a"])
            // The reap's script ends before the counter is incremented: the lease can be gone a moment earlier.
            try await eventually("the reap is counted", within: .seconds(10)) {
                harness.metricsText.contains(#"rollcall_leases_expired_total{pool="fast"} 1"#)
            }
            #expect(!harness.metricsText.contains(#"rollcall_leases_expired_total{pool="slow"} 1"#))
        }
    }

    @Test("every key of a named pool carries the pool as its one hash tag; the default pool keeps today's names")
    func keysCarryThePool() async throws {
        let configuration = try ControlPlaneConfiguration.test().declaring([
            ("default", { _ in }), ("payments", { $0.partitionCount = 16 }),
        ])
        let harness = try ControlPlaneHarness(configuration)
        let prefix = configuration.keyPrefix
        try await harness.test { client async throws in
            _ = try await client.beat("pod-a", pool: "payments")
            _ = try await client.beat("pod-a")
            try await eventually("payments' layout is published") { try await harness.pool("payments").layout().version > 0 }
            let keys = try await harness.app.redis.command(["KEYS", prefix + "*"], retry: .never).array?.compactMap(\.string) ?? []
            let payments = keys.filter { $0.contains("payments") }
            #expect(payments.count >= 8, "\(payments)")
            for key in payments {
                let tag = key.firstRange(of: "{").flatMap { open in
                    key[open.upperBound...].firstRange(of: "}").map { key[open.upperBound..<$0.lowerBound] }
                }
                #expect(tag == "payments", "\(key)")
                #expect(key.hasPrefix(prefix + "rollcall:{payments}:"))
            }
            #expect(keys.contains(prefix + "rollcall:{payments}:workers"))
            // The default pool: `hgetall workers` as before pools.
            #expect(
                try await harness.app.redis.command(["HKEYS", prefix + "workers"], retry: .never).array?.compactMap(\.string) == ["pod-a"])
            #expect(keys.filter { $0.contains("{") && !$0.contains("{payments}") }.isEmpty)
        }
    }

    @Test("an undeclared pool is 404 unknown_pool naming it; a malformed pool name is 400 invalid_pool; nothing is written")
    func unknownPools() async throws {
        let configuration = try Self.twoPools()
        let harness = try ControlPlaneHarness(configuration)
        try await harness.test { client async throws in
            for path in ["/v1/pools/nope/layout", "/v1/pools/nope/workers", "/v1/pools/nope/overview", "/v1/pools/nope/numbers/pod-a"] {
                let response = try await client.get(path)
                #expect(response.status == .notFound && response.errorCode == "unknown_pool", "\(path)")
                #expect(String(buffer: response.body).contains("nope"))
            }
            let beat = try await client.heartbeat("pod-a", pool: "nope", body: #"{"instance": "i1"}"#)
            #expect(beat.status == .notFound && beat.errorCode == "unknown_pool")
            let bad = try await client.heartbeat("pod-a", pool: "Not_A-Label", body: #"{"instance": "i1"}"#)
            #expect(bad.status == .badRequest && bad.errorCode == "invalid_pool")
            // Without a pools file entry named default, the routes without a pool have no pool either.
            let legacy = try await client.heartbeat("pod-a", body: #"{"instance": "i1"}"#)
            #expect(legacy.status == .notFound && legacy.errorCode == "unknown_pool")
            let keys = try await harness.app.redis.command(["KEYS", configuration.keyPrefix + "*{nope}*"], retry: .never).array ?? []
            #expect(keys.isEmpty)
        }
    }

    @Test("with autoCreate, an undeclared pool is made on first use with numbers only, up to maxPools, and listed")
    func autoCreate() async throws {
        var settings = LeaseSettings()
        settings.partitionCount = 0
        settings.maxWorkers = 3
        settings.leaseTTL = .seconds(2)
        settings.heartbeatInterval = .milliseconds(500)
        settings.numberQuarantine = .milliseconds(100)
        let configuration = try ControlPlaneConfiguration.test().declaring(
            [("payments", { $0.partitionCount = 16 })], autoCreate: .init(settings: settings, maxPools: 2))
        let harness = try ControlPlaneHarness(configuration)
        try await harness.test { client async throws in
            // A new pool waits out one lease TTL first (it cannot tell new from wiped), then answers.
            var number: String?
            try await eventually("the podnum shortcut answers in a pool made on first use") {
                let response = try await client.get("/v1/pools/team-a/numbers/pod-a")
                number = response.status == .ok ? String(buffer: response.body) : nil
                return number != nil
            }
            #expect(number == "0\n")
            #expect(try await client.get("/v1/pools/team-b/numbers/pod-a").status != .notFound)
            let third = try await client.get("/v1/pools/team-c/numbers/pod-a")
            #expect(third.status == .notFound && third.errorCode == "unknown_pool")
            #expect(String(buffer: third.body).contains("2 pools"))
            #expect(try await client.get("/v1/pools/team-a/numbers/pod-a").status == .ok, "renewed, for the count below")
            let list = try JSONDecoder().decode(PoolList.self, from: Data(buffer: try await client.get("/v1/pools").body))
            #expect(list.pools.map(\.name.rawValue) == ["payments", "team-a", "team-b"])
            #expect(list.pools.map(\.declared) == [true, false, false])
            #expect(list.autoCreate == .init(maxPools: 2, made: 2))
            #expect(list.pools[1].liveWorkers == 1 && list.pools[1].partitions == 0 && list.pools[1].maxWorkers == 3)
            // Pools made on first use share one metric label, so their number cannot grow the metrics.
            #expect(harness.metricsText.contains(#"pool="_auto""#) && !harness.metricsText.contains(#"pool="team-a""#))
        }
    }

    @Test("GET /v1/pools lists every declared pool with its settings and live counts")
    func listsPools() async throws {
        let harness = try ControlPlaneHarness(Self.twoPools())
        try await harness.test { client async throws in
            _ = try await client.beat("pod-a", pool: "payments")
            _ = try await client.beat("pod-a", pool: "tags")
            _ = try await client.beat("pod-b", pool: "tags")
            let response = try await client.get("/v1/pools")
            #expect(response.status == .ok)
            let list = try JSONDecoder().decode(PoolList.self, from: Data(buffer: response.body))
            #expect(list.autoCreate == nil)
            #expect(list.pools.map(\.name.rawValue) == ["payments", "tags"])
            #expect(list.pools.map(\.liveWorkers) == [1, 2])
            #expect(list.pools.map(\.partitions) == [16, 0] && list.pools.map(\.maxWorkers) == [2, 4])
            #expect(list.pools.allSatisfy { $0.declared && !$0.settingsPending && $0.leaseTTLMillis == 60000 })
        }
    }

    @Test("a changed POOLS_FILE is put in force without a restart; a partition count waits while the pool has live leases")
    func reload() async throws {
        let folder = try SecretFolder()
        let path = try folder.write("pools.yaml", "pools:\n  - name: payments\n    partitions: 16\n")
        var configuration = try ControlPlaneConfiguration.test()
        configuration.poolsFile = path
        configuration.filePools = try PoolsFileWatcher.read(path, defaults: configuration.lease)
        configuration.poolsFileCheckInterval = .milliseconds(100)
        let prefix = configuration.keyPrefix
        let harness = try ControlPlaneHarness(configuration)
        try await harness.test { client async throws in
            _ = try await client.beat("pod-a", pool: "payments")
            func pools() async throws -> [String: PoolSummary] {
                let list = try JSONDecoder().decode(PoolList.self, from: Data(buffer: try await client.get("/v1/pools").body))
                return Dictionary(uniqueKeysWithValues: list.pools.map { ($0.name.rawValue, $0) })
            }
            let changed = "pools:\n  - name: payments\n    partitions: 32\n    maxWorkers: 8\n  - name: tags\n    partitions: 0\n"
            try changed.write(toFile: path, atomically: true, encoding: .utf8)
            try await eventually("tags is served") { try await client.get("/v1/pools/tags/layout").status == .ok }
            // payments has a live lease: its new partition count (and the rest of its change) waits.
            var now = try await pools()
            #expect(now["payments"]?.partitions == 16 && now["payments"]?.maxWorkers == 1024 && now["payments"]?.settingsPending == true)
            #expect(harness.metricsText.contains(#"rollcall_pool_settings_pending{pool="payments"} 1"#))
            // A file that does not validate is refused; the pools in force stay.
            try "pools:\n  - name: Bad\n".write(toFile: path, atomically: true, encoding: .utf8)
            try await eventually("the bad file is refused") {
                harness.metricsText.split(separator: "\n").contains {
                    $0.hasPrefix("rollcall_pools_file_refusals_total ") && !$0.hasSuffix(" 0")
                }
            }
            #expect(try await client.get("/v1/pools/tags/layout").status == .ok)
            try changed.write(toFile: path, atomically: true, encoding: .utf8)
            // pod-a leaves: the held change goes into force, and a layout over 32 partitions is published.
            let released = try await client.execute(uri: "/v1/pools/payments/workers/pod-a?instance=i1", method: .delete) { $0 }
            #expect(released.status == .noContent)
            try await eventually("payments has 32 partitions") {
                now = try await pools()
                return now["payments"]?.partitions == 32 && now["payments"]?.settingsPending == false
            }
            #expect(now["payments"]?.maxWorkers == 8)
            try await eventually("a layout over 32 partitions is published") {
                try await harness.pool("payments").layout().owners.count == 32
            }
            var b = try await client.beat("pod-b", pool: "payments")
            try await eventually("pod-b is granted all 32") {
                b = try await client.beat("pod-b", pool: "payments", held: b.partitions)
                return b.partitions.count == 32 && b.partitionCount == 32
            }
            // A pool removed from the file answers 404 from then on; its keys stay in Redis, untouched.
            _ = try await client.heartbeat("pod-t", pool: "tags", body: #"{"instance": "i1"}"#)
            try "pools:\n  - name: payments\n    partitions: 32\n    maxWorkers: 8\n".write(toFile: path, atomically: true, encoding: .utf8)
            try await eventually("tags is gone") { try await client.get("/v1/pools/tags/layout").status == .notFound }
            let removed = try await client.heartbeat("pod-t", pool: "tags", body: #"{"instance": "i1"}"#)
            #expect(removed.status == .notFound && removed.errorCode == "unknown_pool")
            // Each key with its value's digest (DUMP), to see that nothing changed them.
            func tagKeys() async throws -> [String: RedisValue] {
                var keys: [String: RedisValue] = [:]
                let names = try await harness.app.redis.command(["KEYS", prefix + "rollcall:{tags}:*"], retry: .never)
                for name in names.array?.compactMap(\.string) ?? [] {
                    keys[name] = try await harness.app.redis.command(["DUMP", name], retry: .never)
                }
                return keys
            }
            let kept = try await tagKeys()
            #expect(!kept.isEmpty, "a removed pool's keys were deleted")
            try await Task.sleep(for: .seconds(1))  // ten leader rounds: nobody looks at a removed pool
            #expect(try await tagKeys() == kept)
            #expect(try await client.beat("pod-b", pool: "payments", held: b.partitions).partitions.count == 32)
        }
        withExtendedLifetime(folder) {}
    }

    @Test("idle pools cost no look: with 100 pools and no worker, the leader looks at none after the first sweep")
    func idlePoolsCostNothing() async throws {
        var configuration = try ControlPlaneConfiguration.test().declaring(
            (0..<100).map { index in ("p\(index)", { $0.partitionCount = 8 }) })
        // A leader that takes its lease anew marks every pool due, rightly; with the tests' 1 s lease, a
        // keeper stalled by the tests beside it lost and retook it mid-test once (100 looks for one join).
        configuration.leaderLease = .seconds(30)
        let harness = try ControlPlaneHarness(configuration)
        try await harness.test { client async throws in
            // The leader's first sweep looks at every pool once (and publishes each an empty layout).
            try await eventually("every pool has had its first look") { harness.rounds >= 100 }
            try await eventually("and the schedule is empty") {
                try await harness.app.redis.command(["ZCARD", harness.controlKeys[.due]], retry: .never).integer == 0
            }
            let settled = harness.rounds
            try await Task.sleep(for: .seconds(1))  // ten leader rounds
            #expect(harness.rounds == settled, "idle pools were looked at again")
            // A join in one pool costs a look at that pool, not at the 99 others.
            _ = try await client.beat("pod-a", pool: "p7")
            try await eventually("p7's layout has pod-a") { try await harness.pool("p7").layout().members == [0] }
            #expect(harness.rounds - settled <= 3, "\(harness.rounds - settled) looks for one join")
            #expect(try await harness.pool("p8").layout().members.isEmpty)
        }
    }
}

extension ControlPlaneHarness {
    /// `rollcall_pool_rounds_total`: the pools the leader has looked at.
    var rounds: Int {
        let line = metricsText.split(separator: "\n").first { $0.hasPrefix("rollcall_pool_rounds_total ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) } ?? 0
    }
}
