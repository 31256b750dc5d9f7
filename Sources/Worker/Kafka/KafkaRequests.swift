import Coordination
import Foundation
import KafkaAdapter
import Logging
import NIOPosix
import RollcallKafka
import ServiceLifecycle
import Synchronization

/// The requester's side of request/reply over Kafka (KAFKA_REQUEST_TOPIC; `scripts/run --kafka` shows it).
///
/// While the worker's consumer sits in its lease's group, it sends a request every `interval` with that
/// group in the `reply-group` header and its instance id in `requester`. A responder answers on a topic
/// the group reads (KAFKA_TOPICS), copying both headers. The group reads the whole reply topic and keeps
/// what names it. A reply to an earlier holder of the number (killed or stopped before its reply came)
/// reaches the number's next holder, which continues the group from its last commit: it is counted
/// apart, and that is what one group per number, not per process, is for.
final class KafkaRequests: Service, Sendable {
    struct Configuration: Sendable, Equatable {
        var topic: String
        /// How often a request is sent while the consumer is a member.
        var interval: Duration = .seconds(1)
        /// The producer's librdkafka settings: the brokers, TLS and SASL, as the consumer's.
        var settings: [String: String]
    }

    /// What `GET /v1/status` shows (`kafka.requests`).
    struct Counts: Codable, Sendable, Equatable {
        /// Requests the broker acknowledged.
        var sent = 0
        /// Replies to this process's requests.
        var replies = 0
        /// Replies to requests an earlier holder of the number sent.
        var earlierHoldersReplies = 0
    }

    static let groupHeader = "reply-group"
    static let requesterHeader = "requester"

    private let configuration: Configuration
    private let instance: @Sendable () -> InstanceID
    private let worker: String
    private let membership: @Sendable () -> GroupMembership.Membership?
    private let logger: Logger
    private let state = Mutex(Counts())
    /// The producer, only ever used on `thread` (its flush blocks).
    private let producer = Mutex<KafkaProducerHandle?>(nil)
    private let thread = NIOThreadPool(numberOfThreads: 1)

    /// - Parameters:
    ///   - instance: the instance id the worker's heartbeats carry now (`RollcallClient.instance`).
    ///   - membership: the consumer's group now (`LeaseBoundConsumer.membership`).
    init(
        configuration: Configuration, instance: @escaping @Sendable () -> InstanceID, worker: String,
        membership: @escaping @Sendable () -> GroupMembership.Membership?, logger: Logger
    ) {
        self.configuration = configuration
        self.instance = instance
        self.worker = worker
        self.membership = membership
        self.logger = logger
        thread.start()
    }

    var counts: Counts { state.withLock { $0 } }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var sequence = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: self.configuration.interval)
                guard let membership = self.membership() else { continue }
                sequence += 1
                await self.send(sequence, as: membership)
            }
        }
        try? await thread.runIfActive { self.producer.withLock { $0 = nil } }
        try? await thread.shutdownGracefully()
    }

    /// Counts the replies among `records` (a batch the group consumed and recorded) that name `membership`'s group.
    func received(_ records: [KafkaRecord], membership: GroupMembership.Membership) {
        let group = Array(membership.group.utf8)
        let me = Array(instance().rawValue.utf8)
        state.withLock { counts in
            for record in records where record.headers[Self.groupHeader] == group {
                if record.headers[Self.requesterHeader] == me { counts.replies += 1 } else { counts.earlierHoldersReplies += 1 }
            }
        }
    }

    private func send(_ sequence: Int, as membership: GroupMembership.Membership) async {
        let requester = instance().rawValue
        let request = Request(worker: worker, requester: requester, group: membership.group, sequence: sequence)
        let value = (try? JSONEncoder().encode(request)).map { [UInt8]($0) } ?? []
        let headers = [Self.groupHeader: Array(membership.group.utf8), Self.requesterHeader: Array(requester.utf8)]
        let topic = configuration.topic
        // A request the broker cannot take within 5 s is reported, not queued for librdkafka's default 5 minutes.
        let settings = configuration.settings.merging(["message.timeout.ms": "5000"]) { mine, _ in mine }
        do {
            try await thread.runIfActive {
                try self.producer.withLock { producer in
                    if producer == nil { producer = try KafkaProducerHandle(settings: settings) }
                    try producer?.produce(topic: topic, key: Array(membership.group.utf8), value: value, headers: headers)
                    try producer?.flush(timeoutMillis: 5000)
                }
            }
            state.withLock { $0.sent += 1 }
        } catch {
            logger.warning("a request was not sent", metadata: ["topic": "\(topic)", "group": "\(membership.group)", "error": "\(error)"])
        }
    }

    /// A request's value.
    private struct Request: Encodable {
        var worker: String
        var requester: String
        var group: String
        var sequence: Int
    }
}
