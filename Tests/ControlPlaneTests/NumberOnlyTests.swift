import Coordination
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import ControlPlane

/// Callers that only want a number (`GET /{name}`, or a heartbeat with `"kind": "numberOnly"`) get a
/// number, an epoch and a consumer group, and are never members of the layout.
@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct NumberOnlyTests {
    @Test("seven GET /{name} callers beside one worker: the worker keeps all 1,024 partitions")
    func numberCallersTakeNoPartitions() async throws {
        let harness = try ControlPlaneHarness(.test())
        try await harness.test { client async throws in
            var worker = try await client.beat("pod-w", instance: "iw", sequence: 1, held: [])
            var sequence = 1
            try await eventually(within: .seconds(10)) {
                sequence += 1
                worker = try await client.beat("pod-w", instance: "iw", sequence: sequence, held: worker.partitions)
                return worker.partitions.count == 1024
            }
            var numbers: Set<String> = [String(worker.number.rawValue)]
            for caller in ["a", "b", "c", "d", "e", "f", "g"] {
                let response = try await client.get("/caller-\(caller)")
                #expect(response.status == .ok)
                numbers.insert(String(buffer: response.body).trimmingCharacters(in: .whitespacesAndNewlines))
            }
            #expect(numbers.count == 8, "eight distinct numbers")
            // Give the rebalancer every chance to move partitions, then look.
            try await Task.sleep(for: .milliseconds(500))
            try await harness.settled()
            sequence += 1
            worker = try await client.beat("pod-w", instance: "iw", sequence: sequence, held: worker.partitions)
            #expect(worker.partitions.count == 1024)
            #expect(worker.revoked.isEmpty)
            #expect(try await harness.store.layout().members == [worker.number])
        }
    }

    @Test("a heartbeat of kind numberOnly gets a number, epoch and group, no partitions, and shows its kind")
    func numberOnlyHeartbeat() async throws {
        let harness = try ControlPlaneHarness(.test())
        try await harness.test { client async throws in
            let worker = try await client.beat("pod-w", instance: "iw", sequence: 1, held: [])
            let response = try await client.heartbeat("ids-only", body: #"{"instance": "io", "sequence": 1, "kind": "numberOnly"}"#)
            #expect(response.status == .ok)
            let only = response.json
            #expect(only.int("number") == 1)
            #expect(only["consumerGroup"] as? String == "inbox-1")
            #expect((only["partitions"] as? [Any])?.isEmpty == true)
            #expect(only["kind"] as? String == "numberOnly")
            try await harness.settled()
            #expect(try await harness.store.layout().members == [worker.number])
            let listed = try await client.get("/v1/workers").json["workers"] as? [[String: Any]] ?? []
            #expect(Set(listed.compactMap { $0["kind"] as? String }) == ["worker", "numberOnly"])
            let record = try await harness.app.redis.command(["HGET", harness.store.keys[.workers], "ids-only"], retry: .never).string
            #expect(record?.contains(#""kind":"numberOnly""#) == true)
            // The kind is the lease's: a heartbeat asking for the other kind is refused and changes nothing.
            let switched = try await client.heartbeat("ids-only", body: #"{"instance": "io", "sequence": 2, "kind": "worker"}"#)
            #expect(switched.status == .conflict)
            #expect(switched.errorCode == "kind_mismatch")
            #expect(try await client.heartbeat("x", body: #"{"instance": "i", "kind": "banana"}"#).errorCode == "invalid_body")
        }
    }
}
