import Coordination
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import ControlPlane

/// Late, duplicated and reordered heartbeats: a request that arrives after a newer one of the same
/// instance was applied must change nothing. The bodies are raw JSON, as a paused replica would
/// replay them.
@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct LateRequestTests {
    @Test("a heartbeat delayed past newer ones is refused as stale: no partition its worker still holds goes to another")
    func lateHeartbeatChangesNothing() async throws {
        let harness = try ControlPlaneHarness(.test())
        try await harness.test { client async throws in
            // The request a paused replica will hold: pod-a's first heartbeat, holding nothing.
            let late = #"{"instance": "ia", "sequence": 1, "held": []}"#
            #expect(try await client.heartbeat("pod-a", body: late).status == .ok)

            // pod-a carries on through another replica and is granted every partition.
            var sequence = 2
            var a = try await client.beat("pod-a", instance: "ia", sequence: sequence, held: [])
            try await eventually(within: .seconds(10)) {
                sequence += 1
                a = try await client.beat("pod-a", instance: "ia", sequence: sequence, held: a.partitions)
                return a.partitions.count == 1024
            }

            // pod-b joins; the layout moves some of pod-a's partitions to it. pod-a has not heard yet.
            var b = try await client.beat("pod-b", instance: "ib", sequence: 1, held: [])
            try await eventually(within: .seconds(10)) { try await harness.store.layout().members == [0, 1] }
            let layout = try await harness.store.layout()
            let moving = Set(layout.owners.indices.filter { layout.owners[$0] == 1 }.map { Partition($0) })
            try #require(!moving.isEmpty)

            // The paused replica resumes and runs the old request.
            let replayed = try await client.heartbeat("pod-a", body: late)
            #expect(replayed.status == .conflict)
            #expect(replayed.errorCode == "stale_request")

            // pod-b is not granted anything pod-a still processes.
            b = try await client.beat("pod-b", instance: "ib", sequence: 2, held: b.partitions)
            #expect(Set(b.partitions).isDisjoint(with: moving), "granted to pod-b while pod-a still holds them")

            // The handoff goes on as it should: pod-a is told, lets go, and then pod-b gets them.
            sequence += 1
            a = try await client.beat("pod-a", instance: "ia", sequence: sequence, held: a.partitions)
            #expect(Set(a.revoked) == moving)
            sequence += 1
            a = try await client.beat("pod-a", instance: "ia", sequence: sequence, held: a.partitions)
            b = try await client.beat("pod-b", instance: "ib", sequence: 3, held: b.partitions)
            #expect(Set(b.partitions) == moving)
        }
    }

    @Test("a duplicated heartbeat (a retry after a lost reply) is refused and changes nothing in Redis")
    func duplicateChangesNothing() async throws {
        let harness = try ControlPlaneHarness(.test(leaseTTL: .seconds(120)))
        try await harness.test { client async throws in
            _ = try await client.beat("pod-a", instance: "ia", sequence: 1, held: [])
            let body = #"{"instance": "ia", "sequence": 2, "held": []}"#
            #expect(try await client.heartbeat("pod-a", body: body).status == .ok)
            try await harness.settled()
            let before = try await harness.snapshot()
            for duplicate in [body, #"{"instance": "ia", "sequence": 1, "held": []}"#] {
                let response = try await client.heartbeat("pod-a", body: duplicate)
                #expect(response.status == .conflict)
                #expect(response.errorCode == "stale_request")
            }
            #expect(try await harness.snapshot() == before)
        }
    }

    @Test("a late request of a worker whose lease has ended does not lease anything")
    func lateRequestAfterReleaseIsStale() async throws {
        let harness = try ControlPlaneHarness(.test())
        try await harness.test { client async throws in
            _ = try await client.beat("pod-a", instance: "ia", sequence: 1, held: [])
            _ = try await client.beat("pod-a", instance: "ia", sequence: 2, held: [])
            let released = try await client.execute(uri: "/v1/workers/pod-a?instance=ia", method: .delete) { $0 }
            #expect(released.status == .noContent)
            let replayed = try await client.heartbeat("pod-a", body: #"{"instance": "ia", "sequence": 2, "held": []}"#)
            #expect(replayed.status == .conflict)
            #expect(replayed.errorCode == "stale_request")
            #expect(try await harness.leases.workers().isEmpty)
        }
    }
}

extension TestClientProtocol {
    /// POSTs a heartbeat with a sequence number (raw JSON, so the body is exactly what a client sends).
    func beat(_ name: String, instance: String, sequence: Int, held: [Partition]) async throws -> HeartbeatResponse {
        let heldJSON = "[" + held.map(\.description).joined(separator: ",") + "]"
        let response = try await heartbeat(name, body: #"{"instance": "\#(instance)", "sequence": \#(sequence), "held": \#(heldJSON)}"#)
        try #require(response.status == .ok, "heartbeat of \(name): \(response.status) \(String(buffer: response.body))")
        return try JSONDecoder().decode(HeartbeatResponse.self, from: Data(buffer: response.body))
    }
}
