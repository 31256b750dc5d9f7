import Coordination

/// What one work transaction did. `fenced` partitions were claimed by a newer grant: stop them.
struct WorkResult: Sendable, Equatable {
    var worked: [PartitionGrant]
    var fenced: [PartitionGrant]
    var rowsTouched: Int
    var sampleIDs: [String]
}
