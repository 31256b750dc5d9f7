import Coordination

/// Comma-separated lists inside script replies.
enum ReplyList {
    /// `"3,17,600"` as non-negative integers; "" is none.
    static func integers(_ text: String) throws -> [Int] {
        try text.split(separator: ",").map { item in
            guard let value = Int(item), value >= 0 else { throw ReplyListError(text: text) }
            return value
        }
    }

    /// `"3,17,600"` as partitions; "" is none.
    static func partitions(_ text: String) throws -> [Partition] { try integers(text).map { Partition($0) } }

    /// `"3:1732270000123456,17:…"` as grants; "" is none.
    static func grants(_ text: String) throws -> [PartitionGrant] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: ":")
            guard parts.count == 2, let partition = Int(parts[0]), partition >= 0, let epoch = Int64(parts[1]), epoch >= 0 else {
                throw ReplyListError(text: text)
            }
            return PartitionGrant(partition: Partition(partition), epoch: Epoch(rawValue: epoch))
        }
    }

    struct ReplyListError: Error { let text: String }
}
