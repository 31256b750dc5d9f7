/// A lease as the control plane granted it: the worker's number, its epoch, and the settings it was told.
public struct Lease: Hashable, Sendable {
    public var name: String
    public var instance: String
    public var number: Int
    public var epoch: Epoch
    /// `"\(consumerGroupPrefix)-\(number)"`: the Kafka consumer group this worker uses.
    public var consumerGroup: String
    public var leaseTTL: Duration
    public var heartbeatInterval: Duration
    public var partitionCount: Int
    public var assignmentVersion: Int64

    public init(_ response: HeartbeatResponse) {
        name = response.name
        instance = response.instance
        number = response.number
        epoch = response.epoch
        consumerGroup = response.consumerGroup
        leaseTTL = .milliseconds(response.leaseTTLMillis)
        heartbeatInterval = .milliseconds(response.heartbeatIntervalMillis)
        partitionCount = response.partitionCount
        assignmentVersion = response.assignmentVersion
    }

    /// Whether `other` is the same grant (the same number under the same epoch).
    public func isSameGrant(as other: Lease) -> Bool { number == other.number && epoch == other.epoch }
}

/// One partition the worker may process, with the fencing epoch of its grant (claims in Postgres use it).
public struct PartitionGrant: Hashable, Sendable, Comparable {
    public var partition: Int
    public var epoch: Epoch

    public init(partition: Int, epoch: Epoch) {
        self.partition = partition
        self.epoch = epoch
    }

    public static func < (lhs: PartitionGrant, rhs: PartitionGrant) -> Bool { lhs.partition < rhs.partition }
}
