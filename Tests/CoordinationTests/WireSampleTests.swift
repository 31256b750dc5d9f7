import Foundation
import Testing

@testable import Coordination

/// The JSON the Swift wire types encode, one file per schema of docs/openapi.yaml when
/// `ROLLCALL_WIRE_SAMPLES` names a folder: Tests/python/test_wire_samples.py validates each against the
/// document, so the types and the document cannot drift apart.
struct WireSampleTests {
    static let samples: [(schema: String, name: String, json: Data)] = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func encode(_ value: some Encodable) -> Data { try! encoder.encode(value) }
        let epoch = Epoch(rawValue: 1_796_187_634_891_048)
        return [
            ("HeartbeatRequest", "minimal", encode(HeartbeatRequest(instance: "5f0c1e2d"))),
            (
                "HeartbeatRequest", "full",
                encode(
                    HeartbeatRequest(
                        instance: "5f0c1e2d", sequence: 812, held: [3, 17], heldEpochs: [epoch, epoch], number: 2, epoch: epoch,
                        generation: "c80e1e0b93b1:1796187634891048", kind: .member,
                        load: PartitionLoadReport(partitions: [3, 17], rowsWaiting: [1200, 0], rowsPerSecond: [41.5, 0])))
            ),
            ("HeartbeatRequest", "numberOnly", encode(HeartbeatRequest(instance: "a", sequence: 1, kind: .numberOnly))),
            (
                "HeartbeatResponse", "granted",
                encode(
                    HeartbeatResponse(
                        name: "pod-a", instance: "5f0c", number: 2, epoch: epoch, leaseTTLMillis: 10_000, heartbeatIntervalMillis: 1000,
                        layoutVersion: 41, partitions: [3, 17], partitionEpochs: [epoch, epoch], revoked: [600], consumerGroup: "inbox-2",
                        partitionCount: 1024, generation: "c80e:1", kind: .member))
            ),
            (
                "WorkerList", "two",
                encode(
                    WorkerList(workers: [
                        WorkerSummary(
                            name: "pod-a", number: 0, epoch: epoch, instance: "i", expiresAt: "2026-12-02T05:00:00.000Z", grantCount: 512,
                            consumerGroup: "inbox-0"),
                        WorkerSummary(
                            name: "ids", number: 1, epoch: epoch, instance: "get-shortcut", expiresAt: "2026-12-02T05:00:00.000Z",
                            grantCount: 0, consumerGroup: "inbox-1", kind: .numberOnly),
                    ]))
            ),
            (
                "PublishedLayout", "partial",
                encode(PublishedLayout(version: 3, partitionCount: 4, members: [0, 1], owners: [0, 1, nil, 0]))
            ),
            (
                "LayoutPlan", "scale-down",
                encode(
                    LayoutPlan(
                        balance: "count", fromVersion: 3, members: [0],
                        moves: [.init(partition: 1, from: 1, to: 0), .init(partition: 2, from: nil, to: 0)],
                        shares: [.init(number: 0, partitions: 4)], maxOverMean: 1))
            ),
            (
                "LayoutPlan", "load",
                encode(
                    LayoutPlan(
                        balance: "load", fromVersion: 9, members: [0, 1], moves: [.init(partition: 3, from: 0, to: 1)],
                        shares: [.init(number: 0, partitions: 3, load: 40.5), .init(number: 1, partitions: 1, load: 38)], maxOverMean: 1.03)
                )
            ),
            (
                "LayoutPlan", "no-workers",
                encode(
                    LayoutPlan(
                        balance: "count", fromVersion: 3, members: [], moves: [.init(partition: 0, from: 0, to: nil)], shares: [],
                        maxOverMean: 0))
            ),
            (
                "Overview", "moving",
                encode(
                    Overview(
                        nowMillis: 1_796_187_634_891, leaseTTLMillis: 10_000, heartbeatIntervalMillis: 1000,
                        redis: .init(
                            primary: "10.0.0.7:6379", connectedReplicas: 1, minReplicas: 1, latencyMillis: 0.42, generation: "c80e:1",
                            recoveryMillisLeft: 0),
                        workers: [
                            .init(
                                name: "pod-a", number: 0, kind: .member, epoch: epoch, instance: "5f0c", leaseMillisLeft: 9120,
                                grantCount: 2,
                                revokedHeld: 1, consumerGroup: "inbox-0", load: 41.5),
                            .init(
                                name: "ids", number: 1, kind: .numberOnly, epoch: epoch, instance: "get-shortcut", leaseMillisLeft: -3,
                                grantCount: 0, revokedHeld: 0, consumerGroup: "inbox-1"),
                        ],
                        quarantine: [.init(number: 2, millisLeft: 1500)],
                        layout: .init(version: 7, partitionCount: 4, owners: [0, 0, 3, nil], holders: [0, 0, 0, nil]),
                        handoffs: .init(pending: 1, unowned: 1, first: [.init(partition: 2, from: 0, to: 3)]),
                        events: [
                            .init(atMillis: 1_796_187_634_800, kind: .layout, version: 7, moved: 1, members: 2),
                            .init(atMillis: 1_796_187_634_700, kind: .leased, name: "pod-b", number: 3, epoch: epoch, lease: .member),
                            .init(atMillis: 1_796_187_634_600, kind: .expired, name: "pod-c", number: 2, epoch: epoch, lease: .member),
                            .init(atMillis: 1_796_187_630_000, kind: .recovery, until: "2026-12-02T05:00:00.000Z"),
                        ],
                        fleet: FleetSize(
                            pool: .default, load: 41.5, reportedPartitions: 2, targetLoadPerWorker: 20, maxWorkers: 8, liveWorkers: 2)))
            ),
            (
                "FleetSize", "sized",
                encode(FleetSize(pool: .default, load: 160, reportedPartitions: 16, targetLoadPerWorker: 50, maxWorkers: 6, liveWorkers: 1))
            ),
            (
                "FleetSize", "no-target",
                encode(FleetSize(pool: .default, load: 0, reportedPartitions: 0, targetLoadPerWorker: nil, maxWorkers: 6, liveWorkers: 0))
            ),
            (
                "Overview", "empty",
                encode(
                    Overview(
                        nowMillis: 1, leaseTTLMillis: 10_000, heartbeatIntervalMillis: 1000,
                        redis: .init(
                            primary: "127.0.0.1:6379", connectedReplicas: 0, minReplicas: 0, latencyMillis: 0.1, generation: "",
                            recoveryMillisLeft: 9000),
                        workers: [], quarantine: [],
                        layout: .init(version: 0, partitionCount: 2, owners: [nil, nil], holders: [nil, nil]),
                        handoffs: .init(pending: 0, unowned: 2, first: [.init(partition: 1, from: nil, to: 0)]), events: []))
            ),
            ("ErrorBody", "conflict", encode(ErrorBody(error: "conflict", message: "pod-a is held by another live instance"))),
        ]
    }()

    @Test("every wire type encodes a JSON object")
    func samplesAreObjects() throws {
        for sample in Self.samples {
            #expect(try JSONSerialization.jsonObject(with: sample.json) is [String: Any], "\(sample.schema) \(sample.name)")
        }
    }

    @Test(
        "the samples are written where scripts/test checks them against docs/openapi.yaml",
        .enabled(if: ProcessInfo.processInfo.environment["ROLLCALL_WIRE_SAMPLES"] != nil, "needs ROLLCALL_WIRE_SAMPLES"))
    func writeSamples() throws {
        let folder = ProcessInfo.processInfo.environment["ROLLCALL_WIRE_SAMPLES"]!
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for sample in Self.samples {
            try sample.json.write(to: URL(fileURLWithPath: "\(folder)/\(sample.schema).\(sample.name).json"))
        }
    }
}
