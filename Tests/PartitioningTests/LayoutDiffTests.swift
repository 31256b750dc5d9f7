import Testing

@testable import Partitioning

struct LayoutDiffTests {
    @Test("lists each partition that changes owner, with its old and new owner")
    func movesGainsAndLosses() {
        let diff = LayoutDiff(from: [0, 0, 1, nil, 2], to: [0, 1, 1, 2, nil])
        #expect(
            diff.moves == [
                .init(partition: 1, from: 0, to: 1),
                .init(partition: 3, from: nil, to: 2),
                .init(partition: 4, from: 2, to: nil),
            ])
        #expect(diff.movedCount == 3)
    }

    @Test("identical tables differ in nothing; a longer table's extra partitions count as moves")
    func identicalAndResized() {
        #expect(LayoutDiff(from: [1, 2], to: [1, 2]).moves.isEmpty)
        #expect(LayoutDiff(from: [1], to: [1, 3]).moves == [.init(partition: 1, from: nil, to: 3)])
    }
}
