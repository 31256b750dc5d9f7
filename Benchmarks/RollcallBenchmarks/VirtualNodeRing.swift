import Partitioning

/// The classic consistent-hashing ring: each member at `virtualNodes` points, a hash owned by the
/// first point at or after it (wrapping). No load bound.
///
/// Rollcall lays partitions out with `Layout`; this is the reference the benchmarks compare against.
/// Point `i` of member `m` sits at `XXH64(UInt64 LE (m | i << 32), seed 1)`.
public struct VirtualNodeRing: Sendable {
    private let points: [UInt64]
    private let pointOwners: [Int]

    /// A ring with `virtualNodes` points per member (100 is the customary reference).
    public init(members: [Int], virtualNodes: Int = 100) {
        var placed: [(point: UInt64, member: Int)] = []
        placed.reserveCapacity(members.count * max(virtualNodes, 0))
        for member in Set(members) {
            for node in 0..<max(virtualNodes, 0) {
                let word = UInt64(UInt32(truncatingIfNeeded: member)) | UInt64(UInt32(truncatingIfNeeded: node)) << 32
                placed.append((XXHash64.hash(littleEndianWord: word, seed: 1), member))
            }
        }
        placed.sort { $0.point != $1.point ? $0.point < $1.point : $0.member < $1.member }
        points = placed.map(\.point)
        pointOwners = placed.map(\.member)
    }

    /// The member owning `hash`, or nil for an empty ring.
    public func owner(forHash hash: UInt64) -> Int? {
        guard !points.isEmpty else { return nil }
        var low = 0
        var high = points.count
        while low < high {
            let middle = (low + high) / 2
            if points[middle] < hash { low = middle + 1 } else { high = middle }
        }
        return pointOwners[low == points.count ? 0 : low]
    }

    /// The member owning `key`, hashed with XXH64.
    public func owner(forKey key: String) -> Int? { owner(forHash: XXHash64.hash(key)) }
}
