/// Maps keys to partitions: `partition(key) = XXH64(UTF-8 bytes of key, seed 0) mod partitionCount`.
///
/// The formula is part of Rollcall's contract: a producer in any language computes the same
/// partition for a key and writes its inbox row there.
public struct Partitioner: Sendable, Hashable {
    /// The number of partitions, at least 1.
    public let partitionCount: Int

    /// A partitioner over `partitionCount` partitions; throws `LayoutError.invalidPartitionCount` below 1.
    public init(partitionCount: Int) throws(LayoutError) {
        guard partitionCount >= 1 else { throw .invalidPartitionCount(partitionCount) }
        self.partitionCount = partitionCount
    }

    /// The partition of `key`, in `0..<partitionCount`.
    public func partition(forKey key: String) -> Int {
        Int(XXHash64.hash(key) % UInt64(partitionCount))
    }

    /// The partition of a binary key, in `0..<partitionCount`.
    public func partition<Bytes: Sequence>(forKey key: Bytes) -> Int where Bytes.Element == UInt8 {
        Int(XXHash64.hash(key) % UInt64(partitionCount))
    }
}
