import Coordination
import Foundation
import KafkaAdapter
import Logging
import RollcallKafka
import Synchronization
import TestSupport
import Testing

@testable import RollcallClient

/// The lease-bound consumer on the broker scripts/test starts (ROLLCALL_TEST_KAFKA_BROKERS), with the
/// lease played by the test: it consumes only while the lease is safe, commits exactly what was
/// recorded, and the group's next member resumes from there.
@Suite(.serialized, .enabled(if: TestServers.kafkaBrokers != nil, "needs ROLLCALL_TEST_KAFKA_BROKERS (scripts/test starts a broker)"))
struct LeaseBoundConsumerTests {
    static var brokers: String { TestServers.kafkaBrokers ?? "" }

    /// The lease the consumer sees: set by the test.
    final class LeaseBox: Sendable {
        let status = Mutex<LeaseStatus?>(nil)
        func set(number: Int?, epoch: Int64 = 1, prefix: String, safeFor: Duration = .seconds(9)) {
            status.withLock { status in
                status = number.map { number in
                    let lease = Lease(
                        HeartbeatResponse(
                            name: "pod-a", instance: "i1", number: WorkerNumber(rawValue: number)!, epoch: Epoch(rawValue: epoch),
                            leaseTTLMillis: 10_000, heartbeatIntervalMillis: 1000, layoutVersion: 1, partitions: [],
                            partitionEpochs: nil, revoked: [], consumerGroup: "\(prefix)-\(number)", partitionCount: 0))
                    return LeaseStatus(lease: lease, grants: [], safeFor: safeFor)
                }
            }
        }
    }

    /// What the handler saw, by group and epoch; `failNext` makes the next batch throw, `fenced` refuses all.
    struct DatabaseDown: Error {}

    final class Recorder: Sendable {
        struct Seen: Sendable {
            var values: [String] = []
            var groups: [String] = []
            var epochs: [Int64] = []
        }
        let seen = Mutex(Seen())
        let failNext = Atomic<Bool>(false)
        let fenced = Atomic<Bool>(false)

        func handle(_ records: [KafkaRecord], _ membership: GroupMembership.Membership) throws -> LeaseBoundConsumer.Disposition {
            if failNext.exchange(false, ordering: .relaxed) {
                throw DatabaseDown()
            }
            if fenced.load(ordering: .relaxed) { return .fenced }
            seen.withLock { seen in
                for record in records {
                    seen.values.append(String(decoding: record.value, as: UTF8.self))
                    seen.groups.append(membership.group)
                    seen.epochs.append(membership.epoch.rawValue)
                }
            }
            return .recorded
        }

        var values: [String] { seen.withLock { $0.values } }
    }

    static func produce(_ topic: String, _ range: Range<Int>, partitions: Int32 = 2) throws {
        let producer = try KafkaProducerHandle(settings: ["bootstrap.servers": brokers])
        try producer.createTopic(topic, partitions: partitions, timeoutMillis: 10_000)
        for index in range { try producer.produce(topic: topic, key: Array("k\(index)".utf8), value: Array("v\(index)".utf8)) }
        try producer.flush(timeoutMillis: 10_000)
    }

    /// A consumer of `topic` for `lease`, running until the returned task is cancelled.
    static func start(_ topic: String, _ lease: LeaseBox, _ recorder: Recorder) -> (LeaseBoundConsumer, Task<Void, Error>) {
        var configuration = LeaseBoundConsumer.Configuration(brokers: brokers, topics: [topic])
        configuration.batchSize = 10
        let consumer = LeaseBoundConsumer(
            configuration: configuration, status: { lease.status.withLock { $0 } },
            handle: { records, membership in try recorder.handle(records, membership) }, logger: Logger(label: "test.kafka"))
        return (consumer, Task { try await consumer.run() })
    }

    static func topic() -> String { "lease-\(UUID().uuidString.prefix(8).lowercased())" }

    @Test("it consumes only under a safe lease: nothing before, its number's group while safe, nothing after the lease is lost")
    func consumesOnlyWhileSafe() async throws {
        let topic = Self.topic()
        try Self.produce(topic, 0..<30)
        let (lease, recorder) = (LeaseBox(), Recorder())
        let (consumer, task) = Self.start(topic, lease, recorder)
        defer { task.cancel() }
        try await Task.sleep(for: .seconds(2))
        #expect(recorder.values.isEmpty && consumer.membership == nil, "no lease, no group")
        lease.set(number: 3, prefix: topic)
        try await eventually("all 30 records handed on", within: .seconds(30)) { recorder.values.count >= 30 }
        #expect(Set(recorder.values) == Set((0..<30).map { "v\($0)" }))
        #expect(recorder.seen.withLock { Set($0.groups) } == ["\(topic)-3"])
        #expect(consumer.membership?.group == "\(topic)-3")

        lease.set(number: nil, prefix: topic)
        try await eventually("it left the group", within: .seconds(10)) { consumer.membership == nil }
        let before = recorder.values.count
        try Self.produce(topic, 30..<40)
        try await Task.sleep(for: .seconds(2))
        #expect(recorder.values.count == before, "nothing is handed on without a safe lease")

        // Safe again (the next epoch): it resumes after what it committed, with the 10 new records only.
        lease.set(number: 3, epoch: 2, prefix: topic)
        try await eventually("the 10 new records", within: .seconds(30)) { recorder.values.count >= before + 10 }
        try await Task.sleep(for: .seconds(1))
        #expect(Array(recorder.values[before...]).sorted() == (30..<40).map { "v\($0)" }.sorted(), "no record before the commit again")
    }

    @Test("a lease safe for less than the leave margin leaves the group, and one about to end is not joined")
    func leavesBeforeTheLeaseEnds() async throws {
        let topic = Self.topic()
        try Self.produce(topic, 0..<5)
        let (lease, recorder) = (LeaseBox(), Recorder())
        // A quarter of the 10 s TTL is the leave margin, a tenth more the join margin: 3.5 s to join.
        lease.set(number: 1, prefix: topic, safeFor: .seconds(3))
        let (consumer, task) = Self.start(topic, lease, recorder)
        defer { task.cancel() }
        try await Task.sleep(for: .seconds(2))
        #expect(consumer.membership == nil && recorder.values.isEmpty, "safe for 3 s is too short to join")
        lease.set(number: 1, prefix: topic, safeFor: .seconds(9))
        try await eventually("joined and consumed", within: .seconds(30)) { recorder.values.count >= 5 }
        lease.set(number: 1, prefix: topic, safeFor: .seconds(2))
        try await eventually("left while still safe", within: .seconds(10)) { consumer.membership == nil }
    }

    @Test("a batch that could not be recorded is not committed: the group takes it again, nothing is skipped")
    func failureRedelivers() async throws {
        let topic = Self.topic()
        try Self.produce(topic, 0..<20, partitions: 1)
        let (lease, recorder) = (LeaseBox(), Recorder())
        recorder.failNext.store(true, ordering: .relaxed)
        lease.set(number: 0, prefix: topic)
        let (consumer, task) = Self.start(topic, lease, recorder)
        defer { task.cancel() }
        try await eventually("all 20 recorded after the failure", within: .seconds(40)) { Set(recorder.values).count >= 20 }
        #expect(Set(recorder.values) == Set((0..<20).map { "v\($0)" }))
        #expect(recorder.values.count == 20, "the failed batch was taken again once, nothing recorded twice: \(recorder.values)")
        _ = consumer
    }

    @Test("a batch refused as fenced (a newer holder) leaves the group with nothing committed")
    func fencedLeaves() async throws {
        let topic = Self.topic()
        try Self.produce(topic, 0..<5)
        let (lease, recorder) = (LeaseBox(), Recorder())
        recorder.fenced.store(true, ordering: .relaxed)
        lease.set(number: 2, prefix: topic)
        let (consumer, task) = Self.start(topic, lease, recorder)
        defer { task.cancel() }
        try await eventually("it joined, was fenced and left", within: .seconds(30)) {
            consumer.membership == nil && recorder.values.isEmpty && consumer.leaves > 0
        }
    }
}
