import Coordination
import Foundation
import RedisAdapter
import TestSupport
import Testing

@testable import ControlPlane

/// A script's reply as hiredis hands it over: field/value pairs, strings as bulk strings, numbers as integers.
private func scriptReply(_ fields: Any...) -> RedisValue {
    .array(fields.map { field in (field as? Int).map { RedisValue.integer(Int64($0)) } ?? .bulkString(Array("\(field)".utf8)) })
}

/// One script's contract as its Swift type declares it, and the Lua Redis runs.
struct DeclaredScript: Sendable, CustomStringConvertible {
    var name: String
    var lua: String
    var source: String
    var arguments: [String]
    var fields: [String]
    var idempotent: Bool
    /// The names of the keys the script receives (`LeaseKey`'s or `ControlKey`'s).
    var keys: [String]
    var keyTable: String
    var description: String { name }

    init<Script: LeaseScript>(_ type: Script.Type, lua: String) {
        name = Script.name
        self.lua = lua
        source = Script.script.source
        arguments = Script.Argument.allCases.map(\.rawValue)
        fields = Script.Field.allCases.map(\.rawValue)
        idempotent = Script.script.isIdempotent
        keys = Script.Key.allCases.map(\.rawValue)
        keyTable = LuaPreamble.keyTable(Script.Key.self)
    }

    /// The first words of the indented lines under `section` (`ARGV`, `REPLY`) in the script's header.
    func header(_ section: String) -> [String] {
        let header = lua.components(separatedBy: "]]").first ?? ""
        var names: [String] = []
        var inside = false
        for line in header.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  ") && !line.hasPrefix("    ") {
                inside = line.hasPrefix("  \(section)") && !line.contains("ARGV: none"); continue
            }
            if inside, line.hasPrefix("    "), !line.hasPrefix("     "), let word = line.split(separator: " ").first {
                names.append(String(word))
            }
        }
        return names
    }

    /// Every `prefix.name` the Lua (includes expanded) reads.
    func uses(_ prefix: String) -> Set<String> {
        var names: Set<String> = []
        let body = lua.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }.joined(separator: "\n")
        var rest = Substring(body)
        while let range = rest.range(of: prefix + ".") {
            let before = range.lowerBound == body.startIndex ? " " : body[body.index(before: range.lowerBound)]
            let name = rest[range.upperBound...].prefix { $0.isLetter || $0.isNumber }
            if !(before.isLetter || before.isNumber || before == "_" || before == "."), !name.isEmpty { names.insert(String(name)) }
            rest = rest[range.upperBound...]
        }
        return names
    }

    static let all = [
        DeclaredScript(HeartbeatScript.self, lua: LuaSource.heartbeat), DeclaredScript(ReleaseScript.self, lua: LuaSource.release),
        DeclaredScript(ReapScript.self, lua: LuaSource.reap), DeclaredScript(LeadScript.self, lua: LuaSource.lead),
        DeclaredScript(MembersScript.self, lua: LuaSource.members), DeclaredScript(PublishScript.self, lua: LuaSource.publish),
        DeclaredScript(OverviewScript.self, lua: LuaSource.overview), DeclaredScript(PickScript.self, lua: LuaSource.pick),
        DeclaredScript(RegisterScript.self, lua: LuaSource.register), DeclaredScript(ReportLoadScript.self, lua: LuaSource.report),
    ]
}

/// The scripts' contract: declared once in Swift, written in each `.lua` header, checked against each other.
struct LeaseScriptContractTests {
    @Test("the Lua key table is generated from LeaseKey, in the order the Swift side passes the keys")
    func keyTableFollowsTheSwiftList() {
        let keys = LeaseKeys(prefix: "p:")
        #expect(keys.all.count == LeaseKey.allCases.count)
        for (index, key) in LeaseKey.allCases.enumerated() {
            #expect(LuaPreamble.keyTable.contains("\(key.rawValue) = KEYS[\(index + 1)]"))
            #expect(keys.all[index] == key.redisKey(prefix: "p:") && keys[key] == keys.all[index])
        }
        #expect(keys[.workers] == "p:workers" && keys[.grantedBy] == "p:rollcall:granted-by")
        #expect(Set(keys.all).count == keys.all.count, "two keys share a name")
    }

    @Test("each script's header lists its ARGV and reply fields as the Swift type declares them", arguments: DeclaredScript.all)
    func headerMatchesDeclaration(script: DeclaredScript) {
        #expect(script.header("ARGV") == script.arguments, "ARGV of \(script.name).lua")
        #expect(script.header("REPLY") == script.fields, "REPLY of \(script.name).lua")
        #expect(script.lua.contains("IDEMPOTENT: \(script.idempotent ? "yes" : "no")"), "IDEMPOTENT of \(script.name).lua")
        #expect(script.source.hasPrefix(script.keyTable))
        #expect(script.arguments.isEmpty || script.source.contains(LuaPreamble.argumentTable(script.arguments)))
    }

    @Test("a script reads only the arguments and keys the Swift side declares, and no ARGV by position", arguments: DeclaredScript.all)
    func readsOnlyDeclaredNames(script: DeclaredScript) {
        #expect(script.uses("A").isSubset(of: Set(script.arguments)), "\(script.uses("A").subtracting(script.arguments))")
        #expect(script.uses("K").isSubset(of: Set(script.keys)))
        #expect(Set(script.arguments).isSubset(of: script.uses("A")), "a declared argument is never read")
        let positional = script.lua.split(separator: "\n").filter { $0.contains("ARGV[") && !$0.contains("ARGV[i") }
        #expect(positional.isEmpty, "\(positional)")
    }

    @Test("the workers record is encoded from WorkerRecord.Field, integers exactly and strings by cjson")
    func recordEncoderFollowsTheFieldList() {
        let encoder = LuaPreamble.recordEncoder
        #expect(encoder.contains(#"{"number":%.0f,"epoch":%.0f,"instance":%s,"expiresAt":%s,"partitions":%.0f,"#))
        #expect(encoder.contains("cjson.encode(r.instance)") && encoder.contains("r.epoch"))
        #expect(LuaSource.heartbeat.contains("encodeRecord({"))
        for field in WorkerRecord.Field.allCases {
            #expect(LuaSource.heartbeat.contains("\(field.rawValue) = "), "heartbeat.lua does not set \(field.rawValue)")
        }
    }

    @Test("only the scripts whose second run changes nothing are retried after a lost reply")
    func idempotency() {
        #expect(!HeartbeatScript.script.isIdempotent && !ReleaseScript.script.isIdempotent && !PublishScript.script.isIdempotent)
        #expect(ReapScript.script.isIdempotent && LeadScript.script.isIdempotent && MembersScript.script.isIdempotent)
    }

    @Test("a heartbeat reply decodes by field name into a typed outcome, epochs from strings, in any order")
    func decodesLeased() throws {
        let reply = try HeartbeatScript.decode(
            scriptReply(
                "outcome", "leased", "expired", 2, "number", 3, "epoch", "1732270000123456", "grants",
                "4:1732270000123457,9:1732270000123458", "revoked", "7", "layoutVersion", 12, "newLease", 1, "adopted", 0,
                "generation", "ab:1", "kind", "worker"))
        #expect(reply.expired == 2)
        #expect(
            reply.outcome
                == .leased(
                    .init(
                        number: 3, epoch: Epoch(rawValue: 1_732_270_000_123_456), newLease: true, adopted: false,
                        grants: [
                            PartitionGrant(partition: 4, epoch: Epoch(rawValue: 1_732_270_000_123_457)),
                            PartitionGrant(partition: 9, epoch: Epoch(rawValue: 1_732_270_000_123_458)),
                        ], revoked: [7], layoutVersion: 12, generation: "ab:1", kind: .member)))
        let none = try HeartbeatScript.decode(
            scriptReply(
                "kind", "numberOnly", "generation", "ab:1", "adopted", 1, "newLease", 0, "layoutVersion", 0, "revoked", "", "grants", "",
                "epoch", "5", "number", 0, "expired", 0, "outcome", "leased"))
        #expect(
            none.outcome
                == .leased(
                    .init(
                        number: 0, epoch: Epoch(rawValue: 5), newLease: false, adopted: true, grants: [], revoked: [], layoutVersion: 0,
                        generation: "ab:1", kind: .numberOnly)))
        #expect(
            try HeartbeatScript.decode(scriptReply("outcome", "conflict", "expired", 0, "retryAfterMs", "1500")).outcome
                == .conflict(retryAfterMillis: 1500))
        #expect(
            try HeartbeatScript.decode(scriptReply("outcome", "recovering", "expired", 0, "retryAfterMs", "2500")).outcome
                == .recovering(retryAfterMillis: 2500))
        #expect(
            try HeartbeatScript.decode(scriptReply("outcome", "exhausted", "expired", 0, "retryAfterMs", "1")).outcome
                == .exhausted(retryAfterMillis: 1))
        let stale = try HeartbeatScript.decode(scriptReply("outcome", "stale", "expired", 1))
        #expect(stale.outcome == .stale && stale.expired == 1)
        #expect(try HeartbeatScript.decode(scriptReply("outcome", "kindMismatch", "expired", 0)).outcome == .kindMismatch)
    }

    static var leased: [Any] {
        [
            "outcome", "leased", "expired", 0, "number", 3, "epoch", "5", "grants", "", "revoked", "", "layoutVersion", 1, "newLease", 0,
            "adopted", 0, "generation", "ab:1", "kind", "worker",
        ]
    }

    /// `leased` with `field`'s value replaced, or removed when `value` is nil.
    static func leased(_ field: String, _ value: Any?) -> RedisValue {
        var fields = leased
        let index = stride(from: 0, to: fields.count, by: 2).first { fields[$0] as? String == field }!
        if let value { fields[index + 1] = value } else { fields.removeSubrange(index...(index + 1)) }
        return .array(fields.map { field in (field as? Int).map { RedisValue.integer(Int64($0)) } ?? .bulkString(Array("\(field)".utf8)) })
    }

    @Test(
        "a reply outside the contract is a malformedReply naming the script",
        arguments: [
            RedisValue.integer(1), .bulkString(Array("not an array".utf8)), .null, scriptReply("outcome", "granted", "expired", 0),
            scriptReply("outcome", "stale"), scriptReply("outcome", "stale", "expired", -1),
            scriptReply("outcome", "stale", "expired", 0, "retryAfterMs", "1"),  // a field the outcome does not answer
            scriptReply("outcome", "stale", "expired", 0, "expired", 0),  // a field twice
            scriptReply("outcome", "stale", "expired", 0, "surprise", 1),  // a field nobody declared
            scriptReply("outcome", "stale", "expired"),  // an odd count
            scriptReply("outcome", "conflict", "expired", 0), scriptReply("outcome", "conflict", "expired", 0, "retryAfterMs", "-5"),
            leased("epoch", "x"), leased("grants", "4:"), leased("number", 4096), leased("newLease", 2), leased("kind", "other"),
            leased("generation", nil),
        ])
    func malformed(reply: RedisValue) {
        #expect {
            try HeartbeatScript.decode(reply)
        } throws: { error in
            guard case .malformedReply(let script, _) = error as? LeaseStoreError else { return false }
            return script == "heartbeat"
        }
    }

    @Test(
        "the scripts as Redis runs them are written where scripts/test runs luacheck over them",
        .enabled(if: ProcessInfo.processInfo.environment["ROLLCALL_LUA_OUT"] != nil, "needs ROLLCALL_LUA_OUT"))
    func writeScriptsForLuacheck() throws {
        let directory = ProcessInfo.processInfo.environment["ROLLCALL_LUA_OUT"]!
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for script in DeclaredScript.all {
            try script.source.write(toFile: "\(directory)/\(script.name).lua", atomically: true, encoding: .utf8)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).count >= DeclaredScript.all.count)
    }
}

/// A script whose Lua breaks its own contract, to show the store's error on a real Redis.
struct BrokenScript: LeaseScript {
    typealias Argument = NoArgument
    typealias Field = ReapScript.Field
    static func reply(_ fields: ScriptReply<Field>) -> ReapScript.Reply? { ReapScript.reply(fields) }
    static let name = "broken"
    static let script = load("return {'expired', 'many', 'live', 0, 'numberOnly', 0, 'generation', 'g'}", idempotent: true)
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

    /// With Sentinels an old primary may take writes for up to the primary lease after the promoted one
    /// began serving (`RedisPrimaryLocator`), so lost state is waited out that much longer.
    @Test("a recovery margin lengthens the lost-state wait of the heartbeat and the reap by exactly the margin")
    func recoveryMargin() async throws {
        let margin = Duration.seconds(3)
        let harness = try ControlPlaneHarness(.test(), settled: false)
        let settings = harness.leases.settings
        let quarantine = settings.numberQuarantine.wholeMilliseconds
        let ttl = settings.leaseTTL.wholeMilliseconds
        let reply = try await harness.store.run(
            HeartbeatScript(name: WorkerName(rawValue: "pod-a")!, instance: "a1", held: [], settings: settings, recoveryMargin: margin))
        guard case .recovering(let retryAfter) = reply.outcome else {
            Issue.record("a fresh store must wait out recovery, got \(reply)")
            return
        }
        #expect(
            retryAfter <= ttl + margin.wholeMilliseconds + quarantine && retryAfter > ttl + margin.wholeMilliseconds + quarantine - 1000)
        // The reap begins the same wait on a store that lost its state (its generation deleted here).
        _ = try await harness.app.redis.command(["DEL", harness.store.keys[.generation], harness.store.keys[.recovery]], retry: .never)
        let reap = try await harness.store.run(ReapScript(settings: settings, recoveryMargin: margin))
        let until = try #require(
            Int64(try await harness.app.redis.command(["GET", harness.store.keys[.recovery]], retry: .never).string ?? ""))
        #expect(until - reap.nowMillis == ttl + margin.wholeMilliseconds)
        await harness.app.redis.shutdown()
    }

    @Test("the workers hash names the consumer group as ConsumerGroup does, from the prefix")
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
        #expect(listed.map(\.consumerGroup) == [ConsumerGroup.name(prefix: "orders.v2", number: lease.number)])
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
        #expect(
            exposition.contains(#"rollcall_handoffs_pending{pool="default"} 100"#),
            "\(exposition.split(separator: "\n").filter { $0.contains("handoffs") })")
        await harness.app.redis.shutdown()
    }
}
