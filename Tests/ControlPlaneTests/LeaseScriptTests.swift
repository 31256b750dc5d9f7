import Coordination
import Foundation
import RedisAdapter
import TestSupport
import Testing

@testable import ControlPlane

/// The heartbeat script's array, as hiredis hands it over: strings as bulk strings, numbers as integers.
private func scriptArray(_ fields: Any...) -> RedisValue {
    .array(fields.map { field in (field as? Int).map { RedisValue.integer(Int64($0)) } ?? .bulkString(Array("\(field)".utf8)) })
}

/// The scripts' contract: keys in one order, typed replies, a typed error for anything else.
struct LeaseScriptContractTests {
    @Test("the Lua key table is generated from LeaseKey, in the order the Swift side passes the keys")
    func keyTableFollowsTheSwiftList() {
        let keys = LeaseKeys(prefix: "p:")
        #expect(keys.all.count == LeaseKey.allCases.count)
        for (index, key) in LeaseKey.allCases.enumerated() {
            #expect(LuaPrelude.keyTable.contains("\(key.rawValue) = KEYS[\(index + 1)]"))
            #expect(keys.all[index] == key.redisKey(prefix: "p:") && keys[key] == keys.all[index])
        }
        #expect(keys[.workers] == "p:workers" && keys[.grantedBy] == "p:rollcall:granted-by")
        #expect(Set(keys.all).count == keys.all.count, "two keys share a name")
    }

    @Test("only the scripts whose second run changes nothing are retried after a lost reply")
    func idempotency() {
        #expect(!HeartbeatScript.script.isIdempotent && !ReleaseScript.script.isIdempotent && !PublishScript.script.isIdempotent)
        #expect(ReapScript.script.isIdempotent && LeadScript.script.isIdempotent && MembersScript.script.isIdempotent)
    }

    @Test("a heartbeat reply decodes into a typed outcome, epochs from strings")
    func decodesLeased() throws {
        let reply = try HeartbeatScript.decode(
            scriptArray(
                "leased", 2, 3, "1732270000123456", "4:1732270000123457,9:1732270000123458", "7", 12, 1, 0, "inbox-3", "ab:1", "worker"))
        #expect(reply.expired == 2)
        #expect(
            reply.outcome
                == .leased(
                    .init(
                        number: 3, epoch: Epoch(rawValue: 1_732_270_000_123_456), newLease: true, adopted: false,
                        grants: [
                            PartitionGrant(partition: 4, epoch: Epoch(rawValue: 1_732_270_000_123_457)),
                            PartitionGrant(partition: 9, epoch: Epoch(rawValue: 1_732_270_000_123_458)),
                        ], revoked: [7], layoutVersion: 12, consumerGroup: "inbox-3", generation: "ab:1", kind: .worker)))
        let none = try HeartbeatScript.decode(scriptArray("leased", 0, 0, "5", "", "", 0, 0, 1, "g-0", "ab:1", "numberOnly"))
        #expect(
            none.outcome
                == .leased(
                    .init(
                        number: 0, epoch: Epoch(rawValue: 5), newLease: false, adopted: true, grants: [], revoked: [], layoutVersion: 0,
                        consumerGroup: "g-0", generation: "ab:1", kind: .numberOnly)))
        #expect(try HeartbeatScript.decode(scriptArray("conflict", 0, "1500")).outcome == .conflict(retryAfterMillis: 1500))
        #expect(try HeartbeatScript.decode(scriptArray("recovering", 0, "2500")).outcome == .recovering(retryAfterMillis: 2500))
        #expect(try HeartbeatScript.decode(scriptArray("exhausted", 0, "1")).outcome == .exhausted(retryAfterMillis: 1))
        let stale = try HeartbeatScript.decode(scriptArray("stale", 1))
        #expect(stale.outcome == .stale && stale.expired == 1)
        #expect(try HeartbeatScript.decode(scriptArray("kindMismatch", 0)).outcome == .kindMismatch)
    }

    @Test(
        "a reply outside the contract is a malformedReply naming the script",
        arguments: [
            RedisValue.integer(1), .bulkString(Array("not an array".utf8)), .null, scriptArray("granted", 0), scriptArray("stale"),
            scriptArray("stale", -1), scriptArray("stale", 0, "extra"), scriptArray("conflict", 0), scriptArray("conflict", 0, "-5"),
            scriptArray("leased", 0, 3, "x", "", "", 1, 0, 0, "g", "ab:1", "worker"),  // epoch not a number
            scriptArray("leased", 0, 3, "5", "4:", "", 1, 0, 0, "g", "ab:1", "worker"),  // a grant without its epoch
            scriptArray("leased", 0, 4096, "5", "", "", 1, 0, 0, "g", "ab:1", "worker"),  // beyond any number
            scriptArray("leased", 0, 3, "5", "", "", 1, 2, 0, "g", "ab:1", "worker"),  // newLease neither 0 nor 1
            scriptArray("leased", 0, 3, "5", "", "", 1, 0, 0, "g", "ab:1", "other"),  // no such kind
            scriptArray("leased", 0, 3, "5", "", "", 1, 0, 0, "g", "ab:1"),  // one field short
        ])
    func malformed(reply: RedisValue) {
        #expect {
            try HeartbeatScript.decode(reply)
        } throws: { error in
            guard case .malformedReply(let script, _) = error as? LeaseStoreError else { return false }
            return script == "heartbeat"
        }
    }
}

/// A script whose Lua breaks its own contract, to show the store's error on a real Redis.
struct BrokenScript: LeaseScript {
    typealias Reply = ReapScript.Reply
    var arguments: [String] { [] }
    static let name = "broken"
    static let script = make("return cjson.encode({expired = 'many'})", idempotent: true)
}

@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct LeaseScriptRedisTests {
    @Test("on a real Redis, a script that answers outside its contract fails with malformedReply, not a crash")
    func malformedOnRedis() async throws {
        let harness = try ControlPlaneHarness(.test())
        await #expect {
            try await harness.store.run(BrokenScript())
        } throws: { error in
            guard case .malformedReply(let script, let reply) = error as? LeaseStoreError else { return false }
            return script == "broken" && reply.contains("many")
        }
        await harness.app.redis.shutdown()
    }

    @Test("the consumer group comes from the prefix once: the heartbeat answer and the workers hash agree")
    func consumerGroupOneSource() async throws {
        var configuration = try ControlPlaneConfiguration.test()
        configuration.lease.consumerGroupPrefix = "orders.v2"
        let harness = try ControlPlaneHarness(configuration)
        try await harness.settleInstall()
        let reply = try await harness.heartbeat("pod-a", instance: "a1")
        let listed = try await harness.store.workers()
        await harness.app.redis.shutdown()
        guard case .leased(let lease) = reply.outcome else {
            Issue.record("expected a lease, got \(reply)")
            return
        }
        #expect(lease.consumerGroup == ConsumerGroup.name(prefix: "orders.v2", number: lease.number))
        #expect(listed.map(\.consumerGroup) == [lease.consumerGroup])
    }
}

@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct GrantScanTests {
    @Test("every grant is read, however many HSCAN slices the hash takes, and the pending-handoff count follows them")
    func readsEveryGrant() async throws {
        let harness = try ControlPlaneHarness(.test())
        let partitions = 5000
        var fields: [String] = ["HSET", harness.store.keys[.grants]]
        for partition in 0..<partitions { fields += [String(partition), String(partition % 7)] }
        _ = try await harness.app.redis.command(fields, retry: .never)
        let grants = try await harness.store.grants()
        #expect(grants.count == partitions)
        #expect((0..<partitions).allSatisfy { grants[$0]?.rawValue == $0 % 7 })
        // Owners that agree with every grant but the first 100, and no owner for the last one: 100 pending.
        var owners: [Int?] = (0..<partitions).map { $0 < 100 ? ($0 % 7) + 1 : $0 % 7 }
        owners[partitions - 1] = nil
        try await harness.leases.recordPendingHandoffs(owners: owners)
        let exposition = harness.leases.metrics.exposition()
        #expect(exposition.contains("rollcall_handoffs_pending 100"), "\(exposition.split(separator: "\n").filter { $0.contains("handoffs") })")
        await harness.app.redis.shutdown()
    }
}
