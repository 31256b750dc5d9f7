import Testing

@testable import HashRing

struct AssignmentDiffTests {
    @Test("lists each partition that changes owner, with who gains and who loses it")
    func movesGainsAndLosses() {
        let diff = AssignmentDiff(from: [0, 0, 1, nil, 2], to: [0, 1, 1, 2, nil])
        #expect(
            diff.moves == [
                .init(partition: 1, from: 0, to: 1),
                .init(partition: 3, from: nil, to: 2),
                .init(partition: 4, from: 2, to: nil),
            ])
        #expect(diff.movedCount == 3)
        #expect(diff.gained == [1: [1], 2: [3]])
        #expect(diff.lost == [0: [1], 2: [4]])
    }

    @Test("identical tables differ in nothing; a longer table's extra partitions count as moves")
    func identicalAndResized() {
        #expect(AssignmentDiff(from: [1, 2], to: [1, 2]).moves.isEmpty)
        #expect(AssignmentDiff(from: [1], to: [1, 3]).moves == [.init(partition: 1, from: nil, to: 3)])
    }
}
