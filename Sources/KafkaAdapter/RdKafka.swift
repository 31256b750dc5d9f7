import CRdKafka
import Glibc

/// librdkafka behind the only file that imports it: a consumer and a producer handle, each owned by one
/// thread at a time (the caller's; librdkafka's own threads do the network I/O), and errors that name the
/// call. No pointer leaves this file.

/// A librdkafka call that failed, with the call's name and librdkafka's words.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    public var function: String
    public var code: Int32
    public var message: String

    public var description: String { "\(function): \(message) (\(code))" }
}

/// One record as the consumer received it.
public struct KafkaRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [String: [UInt8]]
}

/// A librdkafka configuration from `settings` (librdkafka's property names), handed to rd_kafka_new.
private func makeHandle(_ type: rd_kafka_type_t, _ settings: [String: String]) throws(KafkaError) -> OpaquePointer {
    let configuration = rd_kafka_conf_new()
    var problem = [CChar](repeating: 0, count: 512)
    for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
        guard rd_kafka_conf_set(configuration, name, value, &problem, problem.count) == RD_KAFKA_CONF_OK else {
            rd_kafka_conf_destroy(configuration)
            throw KafkaError(function: "rd_kafka_conf_set(\(name))", code: -1, message: text(problem))
        }
    }
    // rd_kafka_new takes the configuration on success only.
    guard let handle = rd_kafka_new(type, configuration, &problem, problem.count) else {
        rd_kafka_conf_destroy(configuration)
        throw KafkaError(function: "rd_kafka_new", code: -1, message: text(problem))
    }
    return handle
}

/// The text of a NUL-terminated buffer librdkafka wrote into.
private func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

private func failure(_ function: String, _ code: rd_kafka_resp_err_t) -> KafkaError {
    KafkaError(function: function, code: code.rawValue, message: String(cString: rd_kafka_err2str(code)))
}

/// A consumer in one group (`group.id`), subscribed to topics. Not thread-safe: one thread polls it,
/// commits and closes it (`LeaseBoundConsumer` gives it a thread of its own).
public final class KafkaConsumerHandle {
    private var handle: OpaquePointer?

    /// `settings` must name `bootstrap.servers` and `group.id`.
    public init(settings: [String: String]) throws(KafkaError) {
        let handle = try makeHandle(RD_KAFKA_CONSUMER, settings)
        // Rebalance and error events are served by the consumer poll, on the polling thread.
        rd_kafka_poll_set_consumer(handle)
        self.handle = handle
    }

    deinit { close() }

    public func subscribe(_ topics: [String]) throws(KafkaError) {
        guard let handle else { throw KafkaError(function: "rd_kafka_subscribe", code: -1, message: "closed") }
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        let code = rd_kafka_subscribe(handle, list)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw failure("rd_kafka_subscribe", code) }
    }

    /// The next record, or nil when none came within `timeoutMillis` (or a partition's end was reached).
    public func poll(timeoutMillis: Int32) throws(KafkaError) -> KafkaRecord? {
        guard let handle else { throw KafkaError(function: "rd_kafka_consumer_poll", code: -1, message: "closed") }
        guard let message = rd_kafka_consumer_poll(handle, timeoutMillis) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let m = message.pointee
        if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
        guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw failure("rd_kafka_consumer_poll", m.err) }
        let value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
        let key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        var headers: [String: [UInt8]] = [:]
        var list: OpaquePointer? = nil
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>? = nil
            var bytes: UnsafeRawPointer? = nil
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                if let name { headers[String(cString: name)] = bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? [] }
                index += 1
            }
        }
        return KafkaRecord(
            topic: String(cString: rd_kafka_topic_name(m.rkt)), partition: m.partition, offset: m.offset, key: key, value: value,
            headers: headers)
    }

    /// Up to `max` records: waits up to `timeoutMillis` for the first, then takes what is already here.
    public func poll(max: Int, timeoutMillis: Int32) throws(KafkaError) -> [KafkaRecord] {
        var records: [KafkaRecord] = []
        guard let first = try poll(timeoutMillis: timeoutMillis) else { return records }
        records.append(first)
        while records.count < max, let next = try poll(timeoutMillis: 0) { records.append(next) }
        return records
    }

    /// Commits, synchronously, the offset after each given record's: exactly what was handed on, not
    /// whatever else was polled.
    public func commit(after records: [KafkaRecord]) throws(KafkaError) {
        guard let handle else { throw KafkaError(function: "rd_kafka_commit", code: -1, message: "closed") }
        var next: [String: [Int32: Int64]] = [:]
        for record in records {
            next[record.topic, default: [:]][record.partition] = max(next[record.topic]?[record.partition] ?? 0, record.offset + 1)
        }
        guard !next.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(records.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (topic, partitions) in next {
            for (partition, offset) in partitions { rd_kafka_topic_partition_list_add(list, topic, partition).pointee.offset = offset }
        }
        let code = rd_kafka_commit(handle, list, 0)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw failure("rd_kafka_commit", code) }
    }

    /// Records behind the end of the assigned partitions, from the watermarks librdkafka last fetched (no
    /// round trip to the broker); nil before an assignment.
    public func lag() -> Int64? {
        guard let handle else { return nil }
        var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>? = nil
        guard rd_kafka_assignment(handle, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else { return nil }
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        guard assignment.pointee.cnt > 0 else { return nil }
        _ = rd_kafka_position(handle, assignment)
        var total: Int64 = 0
        for index in 0..<Int(assignment.pointee.cnt) {
            let partition = assignment.pointee.elems[index]
            var low: Int64 = 0
            var high: Int64 = 0
            guard rd_kafka_get_watermark_offsets(handle, partition.topic, partition.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
                high >= 0
            else { continue }
            total += max(0, high - (partition.offset >= 0 ? partition.offset : low))
        }
        return total
    }

    /// Commits the offsets of what was polled, synchronously. Nothing polled since the last commit is
    /// not an error.
    public func commit() throws(KafkaError) {
        guard let handle else { throw KafkaError(function: "rd_kafka_commit", code: -1, message: "closed") }
        let code = rd_kafka_commit(handle, nil, 0)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR__NO_OFFSET else { throw failure("rd_kafka_commit", code) }
    }

    /// Leaves the group (revoking the assignment) and frees the handle; idempotent.
    public func close() {
        guard let handle else { return }
        self.handle = nil
        _ = rd_kafka_consumer_close(handle)
        rd_kafka_destroy(handle)
    }
}

/// A producer, for the demo and the tests. Not thread-safe.
public final class KafkaProducerHandle {
    private let handle: OpaquePointer

    public init(settings: [String: String]) throws(KafkaError) {
        handle = try makeHandle(RD_KAFKA_PRODUCER, settings)
    }

    deinit { rd_kafka_destroy(handle) }

    /// Queues one record (the partition by the key's hash); `flush` sends what is queued.
    public func produce(topic: String, key: [UInt8]?, value: [UInt8], headers: [String: [UInt8]] = [:]) throws(KafkaError) {
        let names = [topic] + headers.keys.sorted()
        let code: rd_kafka_resp_err_t = names.withCStrings { cNames in
            let error: OpaquePointer? = value.withUnsafeBytes { valueBytes in
                (key ?? []).withUnsafeBytes { keyBytes in
                    let headerValues = headers.keys.sorted().map { headers[$0]! }
                    return headerValues.withUnsafeBufferPointers { headerBytes in
                        var items: [rd_kafka_vu_t] = []
                        var topicItem = rd_kafka_vu_t()
                        topicItem.vtype = RD_KAFKA_VTYPE_TOPIC
                        topicItem.u.cstr = cNames[0]
                        items.append(topicItem)
                        var valueItem = rd_kafka_vu_t()
                        valueItem.vtype = RD_KAFKA_VTYPE_VALUE
                        valueItem.u.mem.ptr = UnsafeMutableRawPointer(mutating: valueBytes.baseAddress)
                        valueItem.u.mem.size = valueBytes.count
                        items.append(valueItem)
                        if key != nil {
                            var keyItem = rd_kafka_vu_t()
                            keyItem.vtype = RD_KAFKA_VTYPE_KEY
                            keyItem.u.mem.ptr = UnsafeMutableRawPointer(mutating: keyBytes.baseAddress)
                            keyItem.u.mem.size = keyBytes.count
                            items.append(keyItem)
                        }
                        for (index, bytes) in headerBytes.enumerated() {
                            var headerItem = rd_kafka_vu_t()
                            headerItem.vtype = RD_KAFKA_VTYPE_HEADER
                            headerItem.u.header.name = cNames[index + 1]
                            headerItem.u.header.val = bytes.baseAddress
                            headerItem.u.header.size = bytes.count
                            items.append(headerItem)
                        }
                        // RD_KAFKA_MSG_F_COPY: librdkafka copies the bytes, which are only borrowed here.
                        var flags = rd_kafka_vu_t()
                        flags.vtype = RD_KAFKA_VTYPE_MSGFLAGS
                        flags.u.i = RD_KAFKA_MSG_F_COPY
                        items.append(flags)
                        return rd_kafka_produceva(handle, items, items.count)
                    }
                }
            }
            guard let error else { return RD_KAFKA_RESP_ERR_NO_ERROR }
            defer { rd_kafka_error_destroy(error) }
            return rd_kafka_error_code(error)
        }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw failure("rd_kafka_produceva", code) }
    }

    /// Creates `topic` with `partitions` partitions (replication 1) and waits up to `timeoutMillis` for the
    /// answer; a topic that exists already is not an error.
    public func createTopic(_ topic: String, partitions: Int32, timeoutMillis: Int32) throws(KafkaError) {
        var problem = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(topic, partitions, 1, &problem, problem.count) else {
            throw KafkaError(function: "rd_kafka_NewTopic_new", code: -1, message: text(problem))
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        var topics: [OpaquePointer?] = [newTopic]
        rd_kafka_CreateTopics(handle, &topics, 1, nil, queue)
        guard let event = rd_kafka_queue_poll(queue, timeoutMillis) else {
            throw KafkaError(function: "rd_kafka_CreateTopics", code: -1, message: "no answer within \(timeoutMillis) ms")
        }
        defer { rd_kafka_event_destroy(event) }
        let code = rd_kafka_event_error(event)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw failure("rd_kafka_CreateTopics", code) }
        var count = 0
        if let result = rd_kafka_event_CreateTopics_result(event), let results = rd_kafka_CreateTopics_result_topics(result, &count) {
            for index in 0..<count {
                let topicCode = rd_kafka_topic_result_error(results[index])
                guard topicCode == RD_KAFKA_RESP_ERR_NO_ERROR || topicCode == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS else {
                    throw failure("rd_kafka_CreateTopics(\(topic))", topicCode)
                }
            }
        }
    }

    /// Waits up to `timeoutMillis` for every queued record to be acknowledged.
    public func flush(timeoutMillis: Int32) throws(KafkaError) {
        let code = rd_kafka_flush(handle, timeoutMillis)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw failure("rd_kafka_flush", code) }
    }
}

extension Array where Element == String {
    /// Runs `body` with C strings of every element, valid for the call.
    fileprivate func withCStrings<R>(_ body: ([UnsafePointer<CChar>]) -> R) -> R {
        let pointers: [UnsafeMutablePointer<CChar>] = map { strdup($0)! }
        defer { pointers.forEach { free($0) } }
        return body(pointers.map { UnsafePointer($0) })
    }
}

extension Array where Element == [UInt8] {
    /// Runs `body` with the raw bytes of every element, valid for the call.
    fileprivate func withUnsafeBufferPointers<R>(_ body: ([UnsafeRawBufferPointer]) -> R) -> R {
        func nest(_ index: Int, _ collected: [UnsafeRawBufferPointer]) -> R {
            guard index < count else { return body(collected) }
            return self[index].withUnsafeBytes { nest(index + 1, collected + [$0]) }
        }
        return nest(0, [])
    }
}
