import Coordination

/// A lease as the control plane granted it: the worker's number, its epoch, and the settings it was told.
public struct Lease: Hashable, Sendable {
    public var name: String
    public var instance: InstanceID
    public var number: WorkerNumber
    public var epoch: Epoch
    /// `"\(consumerGroupPrefix)-\(number)"`: the Kafka consumer group this worker uses.
    public var consumerGroup: String
    public var leaseTTL: Duration
    public var heartbeatInterval: Duration
    public var partitionCount: Int
    public var layoutVersion: Int64

    public init(_ response: HeartbeatResponse) {
        name = response.name
        instance = response.instance
        number = response.number
        epoch = response.epoch
        consumerGroup = response.consumerGroup
        leaseTTL = .milliseconds(response.leaseTTLMillis)
        heartbeatInterval = .milliseconds(response.heartbeatIntervalMillis)
        partitionCount = response.partitionCount
        layoutVersion = response.layoutVersion
    }

    /// Whether `other` is the same grant (the same number under the same epoch).
    public func isSameLease(as other: Lease) -> Bool { number == other.number && epoch == other.epoch }
}
