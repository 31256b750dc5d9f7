import TestSupport
import Testing

@testable import HashRing

struct VirtualNodeRingTests {
    @Test("a hash belongs to the first point at or after it, wrapping past the last")
    func clockwiseOwnership() {
        let ring = VirtualNodeRing(members: [1, 2, 3], virtualNodes: 4)
        // Brute force: the owner is the member of the smallest point >= hash, else of the smallest point.
        var points: [(UInt64, Int)] = []
        for member in [1, 2, 3] {
            for node in 0..<4 {
                points.append((XXHash64.hash(littleEndianWord: UInt64(member) | UInt64(node) << 32, seed: 1), member))
            }
        }
        var rng = SplitMix64(seed: 9)
        for _ in 0..<500 {
            let hash = rng.next()
            let expected = (points.filter { $0.0 >= hash }.min { $0.0 < $1.0 } ?? points.min { $0.0 < $1.0 }!).1
            #expect(ring.owner(forHash: hash) == expected)
        }
    }

    @Test("an empty ring owns nothing")
    func empty() {
        #expect(VirtualNodeRing(members: []).owner(forKey: "x") == nil)
    }
}
