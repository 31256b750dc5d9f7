import Coordination

/// Comma-separated lists inside script replies.
enum ReplyList {
    /// `"3,17,600"` as partitions; "" is none.
    static func partitions(_ text: String) throws -> [Int] {
        try text.split(separator: ",").map { item in
            guard let partition = Int(item), partition >= 0 else { throw ReplyListError(text: text) }
            return partition
        }
    }

    /// `"3:1732270000123456,17:…"` as grants; "" is none.
    static func grants(_ text: String) throws -> [PartitionGrant] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: ":")
            guard parts.count == 2, let partition = Int(parts[0]), partition >= 0, let epoch = Int64(parts[1]), epoch >= 0 else {
                throw ReplyListError(text: text)
            }
            return PartitionGrant(partition: partition, epoch: Epoch(rawValue: epoch))
        }
    }

    struct ReplyListError: Error { let text: String }
}
