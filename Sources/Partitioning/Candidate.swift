/// A (partition, member) pair waiting in `Layout`'s bounded-load walk.
struct Candidate {
    let score: UInt64
    let partition: Int
    let memberIndex: Int

    /// Higher score first; on a tie the lower partition (each partition has one entry at a time).
    func precedes(_ other: Candidate) -> Bool {
        score != other.score ? score > other.score : partition < other.partition
    }
}
