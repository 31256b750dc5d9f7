import Coordination

/// What one work transaction did. `fenced` partitions were claimed by a newer grant: stop them.
/// `lost` partitions are claimed by nobody newer, yet our claim row is gone or older (PostgreSQL lost
/// the commit, as an asynchronous standby promoted without it does): claim them again before any work.
struct WorkResult: Sendable, Equatable {
    var worked: [PartitionGrant]
    var fenced: [PartitionGrant]
    var lost: [PartitionGrant] = []
    var rowsTouched: Int
    var sampleIDs: [String]
    /// Rows touched per partition (the load a pool balanced by load is told about).
    var rowsByPartition: [Partition: Int] = [:]

    /// Adds another transaction's result, for a round's total (the sample stays at most `sampleLimit` ids).
    mutating func add(_ other: WorkResult, sampleLimit: Int = 20) {
        worked += other.worked
        fenced += other.fenced
        lost += other.lost
        rowsTouched += other.rowsTouched
        rowsByPartition.merge(other.rowsByPartition, uniquingKeysWith: +)
        sampleIDs += other.sampleIDs.prefix(max(0, sampleLimit - sampleIDs.count))
    }
}
