/// A binary heap whose order is passed to each call: `precedes(a, b)` is true when `a` comes out
/// before `b`. The order may read state the heap does not own (a member's load in a table), as long
/// as it is the same for every call between changes to that state. Partitioning depends on the
/// standard library only.
struct BinaryHeap<Element> {
    private var elements: [Element] = []

    var isEmpty: Bool { elements.isEmpty }

    mutating func reserveCapacity(_ count: Int) { elements.reserveCapacity(count) }

    mutating func push(_ element: Element, by precedes: (Element, Element) -> Bool) {
        elements.append(element)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(elements[child], elements[parent]) else { break }
            elements.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the first element in the order, nil when the heap is empty.
    mutating func pop(by precedes: (Element, Element) -> Bool) -> Element? {
        guard let top = elements.first else { return nil }
        let last = elements.removeLast()
        guard !elements.isEmpty else { return top }
        elements[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var first = parent
            if left < elements.count, precedes(elements[left], elements[first]) { first = left }
            if right < elements.count, precedes(elements[right], elements[first]) { first = right }
            if first == parent { break }
            elements.swapAt(parent, first)
            parent = first
        }
        return top
    }
}
