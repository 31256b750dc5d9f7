import Coordination

/// `GET /v1/status`.
struct WorkerStatus: Codable, Sendable, Equatable {
    var name: String
    var instance: InstanceID
    /// Whether the lease is safe now; number, epoch and consumer group are null while it is not.
    var safe: Bool
    var number: WorkerNumber?
    var epoch: Epoch?
    var consumerGroup: String?
    /// How long the lease stays safe without a renewal.
    var leaseRemainingMillis: Int64
    /// How many partitions are claimed in Postgres and being processed (`partitionCount` on the wire).
    var claimedCount: Int
    /// Those partitions.
    var partitions: [Partition]
    /// Partitions the control plane grants (claims may still be pending).
    var grantedCount: Int
    /// The last client error (4xx) the control plane answered a heartbeat with, until one succeeds:
    /// something a person must fix (the worker keeps retrying without its number hint).
    var lastRefusal: String?
    /// With KAFKA_BROKERS: the lease-bound consumer.
    var kafka: Kafka?

    private enum CodingKeys: String, CodingKey {
        case name, instance, safe, number, epoch, consumerGroup, leaseRemainingMillis
        case claimedCount = "partitionCount"
        case partitions, grantedCount, lastRefusal, kafka
    }

    struct Kafka: Codable, Sendable, Equatable {
        /// The group the consumer sits in now; null between memberships.
        var group: String?
        var joins: Int
        var leaves: Int
        /// Records recorded in `kafka_receipts` and committed.
        var records: Int
        /// With KAFKA_REQUEST_TOPIC: requests sent and replies received.
        var requests: KafkaRequests.Counts?
    }
}
