/// A binary max-heap of candidates (`Candidate.precedes`).
struct CandidateQueue {
    private var heap = BinaryHeap<Candidate>()

    mutating func reserveCapacity(_ count: Int) { heap.reserveCapacity(count) }

    mutating func push(_ candidate: Candidate) { heap.push(candidate) { $0.precedes($1) } }

    mutating func pop() -> Candidate? { heap.pop { $0.precedes($1) } }
}
