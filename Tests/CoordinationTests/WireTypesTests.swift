import Foundation
import Testing

@testable import Coordination

struct WireTypesTests {
    /// Decodes `json`, encodes the value again, and checks both JSON texts mean the same.
    func roundTrip<T: Codable & Equatable>(_ type: T.Type, _ json: String) throws -> T {
        let value = try JSONDecoder().decode(T.self, from: Data(json.utf8))
        let again = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(T.self, from: again) == value)
        let original = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! NSDictionary
        let reencoded = try JSONSerialization.jsonObject(with: again) as! NSDictionary
        #expect(original == reencoded, "keys or values changed: \(String(decoding: again, as: UTF8.self))")
        return value
    }

    @Test("a heartbeat request reads and writes the JSON of the wire format of docs/design.md")
    func heartbeatRequest() throws {
        let request = try roundTrip(
            HeartbeatRequest.self,
            #"{"instance": "5f0c", "sequence": 812, "held": [3, 17], "heldEpochs": [5, 6], "number": 2, "epoch": 1732270000123456, "generation": "c80e:1", "kind": "worker"}"#
        )
        #expect(
            request
                == HeartbeatRequest(
                    instance: "5f0c", sequence: 812, held: [3, 17], heldEpochs: [Epoch(rawValue: 5), Epoch(rawValue: 6)], number: 2,
                    epoch: Epoch(rawValue: 1_732_270_000_123_456), generation: "c80e:1", kind: .member))
        let minimal = try roundTrip(HeartbeatRequest.self, #"{"instance": "5f0c"}"#)
        #expect(minimal.held == nil && minimal.number == nil && minimal.epoch == nil)
    }

    @Test("a heartbeat response reads and writes the JSON of the wire format of docs/design.md")
    func heartbeatResponse() throws {
        let response = try roundTrip(
            HeartbeatResponse.self,
            #"""
            {"name": "pod-a", "instance": "5f0c", "number": 2, "epoch": 1732270000123456,
             "leaseTTLMillis": 10000, "heartbeatIntervalMillis": 1000,
             "layoutVersion": 41, "partitions": [3, 17, 600],
             "partitionEpochs": [1732270000123457, 1732270000123457, 1732270000200000], "revoked": [],
             "consumerGroup": "inbox-2", "partitionCount": 1024}
            """#)
        #expect(response.partitions == [3, 17, 600])
        #expect(response.partitionEpochs?.last == Epoch(rawValue: 1_732_270_000_200_000))
        #expect(response.consumerGroup == "inbox-2")
        #expect(response.epoch == Epoch(rawValue: 1_732_270_000_123_456))
    }

    @Test("a layout writes unowned partitions as null")
    func layout() throws {
        let snapshot = try roundTrip(
            PublishedLayout.self, #"{"version": 41, "partitionCount": 4, "members": [0, 1, 2], "owners": [2, 0, null, 1]}"#)
        #expect(snapshot.owners == [2, 0, nil, 1])
        #expect(String(decoding: try JSONEncoder().encode(snapshot), as: UTF8.self).contains("null"))
    }

    @Test("the worker list reads and writes the JSON of the wire format of docs/design.md")
    func workerList() throws {
        let list = try roundTrip(
            WorkerList.self,
            #"{"workers": [{"name": "pod-a", "number": 2, "epoch": 17, "instance": "5f0c", "expiresAt": "2026-11-22T10:00:00.000Z", "partitions": 341, "consumerGroup": "inbox-2", "kind": "worker"}]}"#
        )
        #expect(list.workers.first?.grantCount == 341)
        // A list from a control plane older than lease kinds: every lease is a partition worker's.
        let old = try JSONDecoder().decode(
            WorkerList.self,
            from: Data(
                #"{"workers": [{"name": "a", "number": 1, "epoch": 1, "instance": "i", "expiresAt": "x", "partitions": 0, "consumerGroup": "g"}]}"#
                    .utf8))
        #expect(old.workers.first?.kind == .member)
    }

    @Test("an error body is {error, message}")
    func errorBody() throws {
        let body = try roundTrip(ErrorBody.self, #"{"error": "conflict", "message": "pod-a is held by another instance"}"#)
        #expect(body.error == "conflict")
    }

    @Test("wrong field types, negative epochs and numbers past 1023 are refused")
    func refusesBadTypes() {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(HeartbeatRequest.self, from: Data(#"{"instance": 5}"#.utf8)) }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(HeartbeatRequest.self, from: Data(#"{"instance": "a", "held": "3"}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(HeartbeatRequest.self, from: Data(#"{"instance": "a", "epoch": -1}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(HeartbeatRequest.self, from: Data(#"{"instance": "a", "number": 1024}"#.utf8))
        }
    }
}
