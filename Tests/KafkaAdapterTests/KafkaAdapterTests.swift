import Foundation
import KafkaAdapter
import TestSupport
import Testing

/// librdkafka through the adapter, on the broker scripts/test starts (ROLLCALL_TEST_KAFKA_BROKERS).
@Suite(.enabled(if: TestServers.kafkaBrokers != nil, "needs ROLLCALL_TEST_KAFKA_BROKERS (scripts/test starts a broker)"))
struct KafkaAdapterTests {
    static var brokers: String { TestServers.kafkaBrokers ?? "" }

    /// A consumer of `group` as the lease-bound consumer configures one: offsets committed by hand, and a
    /// rebalance timeout (max.poll.interval.ms) short enough for a test.
    static func consumer(group: String, topic: String) throws -> KafkaConsumerHandle {
        let consumer = try KafkaConsumerHandle(settings: [
            "bootstrap.servers": brokers, "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": "false",
            "session.timeout.ms": "6000", "max.poll.interval.ms": "7000",
        ])
        try consumer.subscribe([topic])
        return consumer
    }

    /// Polls until `count` records came or 30 s passed.
    static func take(_ count: Int, from consumer: KafkaConsumerHandle) throws -> [KafkaRecord] {
        var records: [KafkaRecord] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while records.count < count, ContinuousClock.now < deadline {
            if let record = try consumer.poll(timeoutMillis: 200) { records.append(record) }
        }
        return records
    }

    @Test("records produced with keys and headers are consumed by a group, and the group's next member resumes after its commit")
    func produceConsumeResume() throws {
        let topic = "adapter-\(UUID().uuidString.prefix(8).lowercased())"
        let group = "\(topic)-group"
        let producer = try KafkaProducerHandle(settings: ["bootstrap.servers": Self.brokers])
        try producer.createTopic(topic, partitions: 3, timeoutMillis: 10_000)
        for index in 0..<20 {
            try producer.produce(
                topic: topic, key: Array("k\(index)".utf8), value: Array("v\(index)".utf8),
                headers: ["reply-group": Array("replies-3".utf8)])
        }
        try producer.flush(timeoutMillis: 10_000)
        let first = try Self.consumer(group: group, topic: topic)
        let records = try Self.take(20, from: first)
        #expect(Set(records.map { String(decoding: $0.value, as: UTF8.self) }) == Set((0..<20).map { "v\($0)" }))
        #expect(records.allSatisfy { $0.topic == topic && $0.headers["reply-group"] == Array("replies-3".utf8) && $0.key != nil })
        try first.commit()
        first.close()
        // The group's next member starts from the committed offsets: only what came after.
        for index in 20..<25 { try producer.produce(topic: topic, key: Array("k\(index)".utf8), value: Array("v\(index)".utf8)) }
        try producer.flush(timeoutMillis: 10_000)
        let second = try Self.consumer(group: group, topic: topic)
        defer { second.close() }
        let resumed = try Self.take(5, from: second)
        #expect(Set(resumed.map { String(decoding: $0.value, as: UTF8.self) }) == Set((20..<25).map { "v\($0)" }))
        #expect(try second.poll(timeoutMillis: 1000) == nil, "nothing before the commit is delivered again")
    }

    @Test("a bad setting is refused with the call and the property named")
    func badSetting() {
        #expect {
            _ = try KafkaConsumerHandle(settings: ["bootstrap.servers": Self.brokers, "group.id": "g", "no.such.property": "1"])
        } throws: { error in
            "\(error)".contains("rd_kafka_conf_set(no.such.property)")
        }
    }
}
