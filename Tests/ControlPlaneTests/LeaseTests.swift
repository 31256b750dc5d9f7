import Coordination
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import ControlPlane

@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct LeaseTests {
    @Test("three names get numbers 0, 1 and 2, each with its consumer group")
    func lowestNumbersFirst() async throws {
        try await ControlPlaneHarness(.test()).test { client async throws in
            let grants = try await ["pod-a", "pod-b", "pod-c"].asyncMap { try await client.beat($0) }
            #expect(grants.map(\.number) == [0, 1, 2])
            #expect(grants.map(\.consumerGroup) == ["inbox-0", "inbox-1", "inbox-2"])
            #expect(grants.allSatisfy { $0.leaseTTLMillis == 5000 && $0.heartbeatIntervalMillis == 1000 && $0.partitionCount == 1024 })
        }
    }

    @Test("a renewal keeps the number and the epoch")
    func renewalKeepsNumberAndEpoch() async throws {
        try await ControlPlaneHarness(.test()).test { client async throws in
            let first = try await client.beat("pod-a")
            _ = try await client.beat("pod-b")
            let renewed = try await client.beat("pod-a")
            #expect(renewed.number == first.number)
            #expect(renewed.epoch == first.epoch)
        }
    }

    @Test("a second instance of a live name gets 409 with Retry-After and changes nothing")
    func secondInstanceRefused() async throws {
        let harness = try ControlPlaneHarness(.test(leaseTTL: .seconds(120)))
        try await harness.test { client async throws in
            _ = try await client.beat("pod-a", instance: "first")
            try await harness.settled()
            let before = try await harness.snapshot()
            let response = try await client.heartbeat("pod-a", body: #"{"instance": "second"}"#)
            #expect(response.status == .conflict)
            #expect(response.errorCode == "conflict")
            #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 >= 1)
            let after = try await harness.snapshot()
            #expect(after.filter { !$0.key.hasSuffix("rollcall:leader") } == before.filter { !$0.key.hasSuffix("rollcall:leader") })
        }
    }

    @Test("a released number is not leased again within its quarantine: the next name gets the next free number")
    func releasedNumberWaitsOutItsQuarantine() async throws {
        // A TTL and a quarantine far longer than the test, so no step can outlast either on a slow machine.
        var configuration = try ControlPlaneConfiguration.test(leaseTTL: .seconds(120))
        configuration.lease.numberQuarantine = .seconds(60)
        try await ControlPlaneHarness(configuration).test { client async throws in
            _ = try await client.beat("pod-a", instance: "a1")
            _ = try await client.beat("pod-b", instance: "b1")
            let released = try await client.execute(uri: "/v1/workers/pod-a?instance=a1", method: .delete) { $0 }
            #expect(released.status == .noContent)
            #expect(try await client.beat("pod-c").number == 2)
        }
    }

    @Test("a released number is leased again, lowest first, once its quarantine is over")
    func releasedNumberAfterItsQuarantine() async throws {
        var configuration = try ControlPlaneConfiguration.test(leaseTTL: .seconds(120))
        let quarantine = Duration.milliseconds(500)
        configuration.lease.numberQuarantine = quarantine
        try await ControlPlaneHarness(configuration).test { client async throws in
            _ = try await client.beat("pod-a", instance: "a1")
            _ = try await client.beat("pod-b", instance: "b1")
            let released = try await client.execute(uri: "/v1/workers/pod-a?instance=a1", method: .delete) { $0 }
            #expect(released.status == .noContent)
            try await Task.sleep(for: quarantine + .milliseconds(200))
            #expect(try await client.beat("pod-d").number == 0)
        }
    }

    @Test("a lease nobody saw expire frees its number a quarantine after its expiry, not after it was noticed")
    func quarantineCountsFromExpiry() async throws {
        var configuration = try ControlPlaneConfiguration.test(leaseTTL: .milliseconds(300))
        configuration.lease.numberQuarantine = .milliseconds(500)
        let harness = try ControlPlaneHarness(configuration)
        try await harness.settleInstall()
        // Only the scripts run (no reaper, no HTTP), as after every control plane was down for a while.
        let first = try await harness.heartbeat("pod-a", instance: "a1")
        try await Task.sleep(for: .milliseconds(1200))
        let second = try await harness.heartbeat("pod-b", instance: "b1")
        await harness.app.redis.shutdown()
        guard case .leased(let a) = first.outcome, case .leased(let b) = second.outcome else {
            Issue.record("expected two grants, got \(first) and \(second)")
            return
        }
        #expect(a.number == 0)
        #expect(b.number == 0, "number 0 expired 900 ms ago, past its 500 ms quarantine")
    }

    @Test("a release by another instance is refused, and an unknown name is 404")
    func releaseChecksInstance() async throws {
        try await ControlPlaneHarness(.test()).test { client async throws in
            _ = try await client.beat("pod-a", instance: "a1")
            #expect(try await client.execute(uri: "/v1/workers/pod-a?instance=zz", method: .delete) { $0 }.status == .conflict)
            #expect(try await client.execute(uri: "/v1/workers/pod-x?instance=a1", method: .delete) { $0 }.status == .notFound)
            #expect(try await client.execute(uri: "/v1/workers/pod-a", method: .delete) { $0 }.status == .badRequest)
            #expect(try await client.beat("pod-a", instance: "a1").number == 0)
        }
    }

    /// How soon the reaper clears it is not asserted (no wall-clock limits in tests: on a loaded CI
    /// machine a reap round came 1.96 s late); that it clears it with no heartbeat, and never early, is.
    @Test("a lease expires after its TTL with no heartbeats, and the reaper clears it, never before the TTL")
    func expiryWithoutHeartbeats() async throws {
        let harness = try ControlPlaneHarness(.test(leaseTTL: .milliseconds(600)))
        try await harness.test { client async throws in
            // The lease starts when the script runs: after `sent`, before `received`.
            let sent = ContinuousClock.now
            _ = try await client.beat("pod-a")
            #expect(try await harness.store.workers().map(\.name) == ["pod-a"])
            try await eventually("the lease expired", within: .seconds(30)) { try await harness.store.workers().isEmpty }
            let now = ContinuousClock.now
            #expect(now - sent >= .milliseconds(600), "expired early: \(now - sent) after the heartbeat was sent")
            #expect(try await harness.leases.members().numbers.isEmpty)
        }
    }

    @Test("with MAX_WORKERS=4 the fifth name gets 503 with Retry-After")
    func exhaustion() async throws {
        var configuration = try ControlPlaneConfiguration.test()
        configuration.lease.maxWorkers = 4
        let harness = try ControlPlaneHarness(configuration)
        try await harness.test { client async throws in
            for name in ["w0", "w1", "w2", "w3"] { _ = try await client.beat(name) }
            let before = try await harness.store.workers()
            let response = try await client.heartbeat("w4", body: #"{"instance": "i1"}"#)
            #expect(response.status == .serviceUnavailable)
            #expect(response.errorCode == "no_number_available")
            #expect(response.headers[.retryAfter] != nil)
            #expect(try await harness.store.workers().map(\.name) == before.map(\.name))
        }
    }

    @Test("epochs strictly increase across grants, also after the epoch key is deleted")
    func epochsIncrease() async throws {
        let harness = try ControlPlaneHarness(.test())
        try await harness.test { client async throws in
            var epochs: [Epoch] = []
            for index in 0..<5 { epochs.append(try await client.beat("pod-\(index)").epoch) }
            _ = try await harness.app.redis.command(["DEL", harness.store.keys[.epoch]], retry: .never)
            for index in 5..<10 { epochs.append(try await client.beat("pod-\(index)").epoch) }
            #expect(zip(epochs, epochs.dropFirst()).allSatisfy { $0 < $1 }, "\(epochs)")
        }
    }

    @Test("the workers hash holds exactly the live workers, one line of JSON each")
    func operatorView() async throws {
        let harness = try ControlPlaneHarness(.test())
        try await harness.test { client async throws in
            let grant = try await client.beat("pod-a", instance: "abc")
            _ = try await client.beat("pod-b")
            let reply = try await harness.app.redis.command(["HGET", harness.store.keys[.workers], "pod-a"], retry: .never)
            let line = try #require(reply.string)
            #expect(!line.contains("\n"))
            let record = try JSONDecoder().decode(WorkerRecord.self, from: Data(line.utf8))
            #expect(record.number == grant.number && record.epoch == grant.epoch && record.instance == "abc")
            #expect(record.consumerGroup == "inbox-0")
            #expect(ISO8601DateFormatter.withFractionalSeconds.date(from: record.expiresAt) != nil, "\(record.expiresAt)")
            let listed = try JSONDecoder().decode(WorkerList.self, from: Data(buffer: try await client.get("/v1/workers").body))
            #expect(listed.workers.map(\.name) == ["pod-a", "pod-b"])
            _ = try await client.execute(uri: "/v1/workers/pod-b?instance=i1", method: .delete) { $0 }
            #expect(
                try await harness.app.redis.command(["HKEYS", harness.store.keys[.workers]], retry: .never).array == [
                    .bulkString(Array("pod-a".utf8))
                ])
        }
    }

    @Test("GET /{name} answers the name's number as plain text, leasing one if needed")
    func podnumShortcut() async throws {
        try await ControlPlaneHarness(.test()).test { client async throws in
            _ = try await client.beat("pod-a")
            let existing = try await client.get("/pod-a")
            #expect(existing.status == .ok && String(buffer: existing.body) == "0\n")
            let fresh = try await client.get("/pod-b")
            #expect(String(buffer: fresh.body) == "1\n")
            #expect(String(buffer: try await client.get("/pod-b").body) == "1\n")
            #expect(try await client.get("/Not_A_Name").status == .badRequest)
        }
    }

    @Test("GET /{name} refuses what is not a DNS-1123 name and the trailing-slash form, and leases nothing for them")
    func podnumShortcutRefuses() async throws {
        let harness = try ControlPlaneHarness(.test())
        try await harness.test { client async throws in
            for path in ["/..", "/.", "/-", "/a..b", "/-pod"] {
                let response = try await client.get(path)
                #expect(response.status == .badRequest, "\(path)")
                #expect(response.errorCode == "invalid_name", "\(path)")
            }
            let slash = try await client.get("/pod-a/")
            #expect(slash.status == .notFound)
            #expect(slash.errorCode == "not_found")
            let heartbeat = try await client.execute(
                uri: "/v1/workers/pod-a/heartbeat/", method: .post, body: ByteBuffer(string: #"{"instance": "i1"}"#)
            ) { $0 }
            #expect(heartbeat.status == .notFound)
            #expect(try await harness.leases.workers().isEmpty)
        }
    }

    @Test("two control planes on one Redis never give two names one number under 1,000 concurrent heartbeats")
    func twoReplicasNoDuplicateNumbers() async throws {
        let configuration = try ControlPlaneConfiguration.test()
        let first = try ControlPlaneHarness(configuration)
        let second = try ControlPlaneHarness(configuration)
        let names = (0..<60).map { "worker-\($0)" }
        let grants = try await first.test { one async throws in
            try await second.test { two async throws in
                try await withThrowingTaskGroup(of: (String, WorkerNumber).self) { group in
                    for index in 0..<1200 {
                        let name = names[index % names.count]
                        let client: any TestClientProtocol = index % 2 == 0 ? one : two
                        group.addTask { (name, try await client.beat(name, instance: InstanceID(rawValue: "inst-\(name)")).number) }
                    }
                    return try await group.reduce(into: [(String, WorkerNumber)]()) { $0.append($1) }
                }
            }
        }
        #expect(grants.count == 1200)
        var numberOf: [String: Set<WorkerNumber>] = [:]
        for (name, number) in grants { numberOf[name, default: []].insert(number) }
        #expect(numberOf.values.allSatisfy { $0.count == 1 }, "a name changed number")
        let numbers = numberOf.values.compactMap(\.first)
        #expect(Set(numbers).count == names.count, "two names shared a number")
        #expect(Set(numbers.map(\.rawValue)) == Set(0..<names.count))
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

extension ISO8601DateFormatter {
    static var withFractionalSeconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
