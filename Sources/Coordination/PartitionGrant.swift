/// One partition the worker may process, with the fencing epoch of its grant (claims in Postgres use it).
public struct PartitionGrant: Hashable, Sendable, Comparable {
    public var partition: Partition
    public var epoch: Epoch

    public init(partition: Partition, epoch: Epoch) {
        self.partition = partition
        self.epoch = epoch
    }

    public static func < (lhs: PartitionGrant, rhs: PartitionGrant) -> Bool { lhs.partition < rhs.partition }
}
