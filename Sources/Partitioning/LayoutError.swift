/// Why a layout or partitioner could not be built from its inputs.
public enum LayoutError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The partition count was below 1.
    case invalidPartitionCount(Int)
    /// Epsilon was negative, infinite or NaN.
    case invalidEpsilon(Double)
    /// A member number was outside `0...UInt32.max`.
    case invalidMember(Int)
    /// A partition's load weight was negative, infinite or NaN.
    case invalidWeight(partition: Int, Double)
    /// A partition's weight deviation was negative, infinite or NaN.
    case invalidDeviation(partition: Int, Double)
    /// The noise margin was negative, infinite or NaN.
    case invalidNoiseMargin(Double)

    public var description: String {
        switch self {
        case .invalidPartitionCount(let count): "partition count must be at least 1, got \(count)"
        case .invalidEpsilon(let epsilon): "epsilon must be a finite number >= 0, got \(epsilon)"
        case .invalidMember(let member): "member numbers must be in 0...\(UInt32.max), got \(member)"
        case .invalidWeight(let partition, let weight): "partition \(partition)'s weight must be a finite number >= 0, got \(weight)"
        case .invalidDeviation(let partition, let deviation):
            "partition \(partition)'s weight deviation must be a finite number >= 0, got \(deviation)"
        case .invalidNoiseMargin(let margin): "the noise margin must be a finite number >= 0, got \(margin)"
        }
    }
}
