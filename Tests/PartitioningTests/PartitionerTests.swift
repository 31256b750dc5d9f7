import Testing

@testable import Partitioning

struct PartitionerTests {
    @Test("a key's partition is XXH64 of its UTF-8 bytes mod the partition count, as docs/layout_reference.py computes")
    func matchesReference() throws {
        let partitioner = try Partitioner(partitionCount: 1024)
        #expect(partitioner.partition(forKey: "") == 409)
        #expect(partitioner.partition(forKey: "order-42") == 974)
        #expect(partitioner.partition(forKey: "héllo") == 996)
        #expect(partitioner.partition(forKey: Array("order-42".utf8)) == 974)
    }

    @Test("keys spread evenly over partitions")
    func spread() throws {
        let partitioner = try Partitioner(partitionCount: 16)
        var counts = [Int](repeating: 0, count: 16)
        for index in 0..<16_000 { counts[partitioner.partition(forKey: "key-\(index)")] += 1 }
        #expect(counts.allSatisfy { (850...1150).contains($0) }, "counts: \(counts)")
    }

    @Test("a partition count below one is refused")
    func refusesZeroPartitions() {
        #expect(throws: LayoutError.invalidPartitionCount(0)) { try Partitioner(partitionCount: 0) }
    }
}
