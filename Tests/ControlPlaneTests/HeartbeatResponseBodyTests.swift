import Coordination
import Foundation
import NIOCore
import ServerSupport
import Testing

@testable import ControlPlane

/// The granted heartbeat's body is written by hand; it must stay the JSON `JSONEncoder` makes.
struct HeartbeatResponseBodyTests {
    static let responses: [HeartbeatResponse] = [
        HeartbeatResponse(
            name: "pod-a.orders", instance: "i-1.x_Y", number: 0, epoch: Epoch(rawValue: 0), leaseTTLMillis: 10_000,
            heartbeatIntervalMillis: 1_000, layoutVersion: 0, partitions: [], partitionEpochs: [], revoked: [], consumerGroup: "inbox-0",
            partitionCount: 1, generation: "0123456789abcdef:1732270000123456", kind: .member),
        HeartbeatResponse(
            name: "w-000000000999", instance: "bench", number: 1023, epoch: Epoch(rawValue: Int64.max), leaseTTLMillis: Int64.max,
            heartbeatIntervalMillis: 1, layoutVersion: 9_007_199_254_740_992, partitions: [0, 7, 65535],
            partitionEpochs: [Epoch(rawValue: 1), Epoch(rawValue: 1_732_270_000_123_457), Epoch(rawValue: Int64.max)],
            revoked: [3, 4], consumerGroup: "orders.v2-1023", partitionCount: 65536, generation: "ab:1", kind: .numberOnly),
        // Absent optionals are left out, as JSONEncoder leaves them out.
        HeartbeatResponse(
            name: "a", instance: "b", number: 5, epoch: Epoch(rawValue: 42), leaseTTLMillis: 1, heartbeatIntervalMillis: 1,
            layoutVersion: 1,
            partitions: [1], partitionEpochs: nil, revoked: [], consumerGroup: "g-5", partitionCount: 2),
        // Strings no route lets through, to pin the escaping: quotes, backslash, slash, controls, non-ASCII.
        HeartbeatResponse(
            name: "q\"b\\s/", instance: "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} ", number: 1, epoch: Epoch(rawValue: 1), leaseTTLMillis: 1,
            heartbeatIntervalMillis: 1, layoutVersion: 1, partitions: [], partitionEpochs: nil, revoked: [], consumerGroup: "grüße-✓",
            partitionCount: 1, generation: "", kind: nil),
    ]

    @Test("the body is the JSON object JSONEncoder makes of the response, and decodes back to it", arguments: responses)
    func sameObjectAsJSONEncoder(response: HeartbeatResponse) throws {
        let written = HeartbeatResponseBody.encode(response)
        #expect(try Self.object(Data(buffer: written)) == Self.object(JSONEncoder().encode(response)))
        #expect(try JSONDecoder().decode(HeartbeatResponse.self, from: Data(buffer: written)) == response)
        // Keys in declaration order (JSONEncoder's order changes from run to run).
        let keys = [
            "name", "instance", "number", "epoch", "leaseTTLMillis", "heartbeatIntervalMillis", "layoutVersion", "partitions",
            "partitionEpochs", "revoked", "consumerGroup", "partitionCount", "generation", "kind",
        ]
        let text = String(buffer: written)
        let positions = keys.compactMap { text.range(of: "\"\($0)\":")?.lowerBound }
        let count = try Self.object(Data(buffer: written)).count
        #expect(positions == positions.sorted() && positions.count == count)
    }

    @Test(
        "strings are escaped byte for byte as JSONEncoder escapes them",
        arguments: responses.flatMap { [$0.name, $0.instance.rawValue, $0.consumerGroup] })
    func escaping(text: String) throws {
        var buffer = ByteBuffer()
        buffer.writeJSONString(text)
        #expect(String(buffer: buffer) == String(decoding: try JSONEncoder().encode(text), as: UTF8.self))
    }

    @Test("a share of 65,536 partitions fits: every grant and its epoch are written")
    func largeShare() throws {
        let partitions = (0..<65536).map { Partition($0) }
        let response = HeartbeatResponse(
            name: "big", instance: "i", number: 1, epoch: Epoch(rawValue: 9), leaseTTLMillis: 1, heartbeatIntervalMillis: 1,
            layoutVersion: 3, partitions: partitions,
            partitionEpochs: partitions.map { Epoch(rawValue: 1_732_270_000_000_000 + Int64($0.rawValue)) },
            revoked: (0..<100).map { Partition($0) }, consumerGroup: "g-1", partitionCount: 65536, generation: "ab:1", kind: .member)
        #expect(try JSONDecoder().decode(HeartbeatResponse.self, from: Data(buffer: HeartbeatResponseBody.encode(response))) == response)
    }

    private static func object(_ data: Data) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: data) as? NSDictionary)
    }
}
