import Coordination
import RedisAdapter

/// `members`: the membership version and the partition workers' numbers at that version, in one
/// consistent read (number-only leases are never members).
///
/// ARGV: none. Reply: `{"membership": n, "numbers": "0,1,5"}`. Read-only, so idempotent.
struct MembersScript: LeaseScript {
    var arguments: [String] { [] }

    struct Reply: Decodable, Sendable, Equatable {
        var membership: Int64
        /// Ascending.
        var numbers: [WorkerNumber]

        private enum Key: String, CodingKey { case membership, numbers }

        init(membership: Int64, numbers: [WorkerNumber]) {
            self.membership = membership
            self.numbers = numbers
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            membership = try container.decode(Int64.self, forKey: .membership)
            let raw = try ReplyList.partitions(try container.decode(String.self, forKey: .numbers))
            numbers = try raw.map { value in
                guard let number = WorkerNumber(rawValue: value) else {
                    throw DecodingError.dataCorruptedError(forKey: .numbers, in: container, debugDescription: "not a number: \(value)")
                }
                return number
            }.sorted()
        }
    }

    static let name = "members"
    static let script = make(
        #"""
        local members = {}
        for _, number in ipairs(redis.call('HKEYS', K.numbers)) do
            if redis.call('SISMEMBER', K.numberOnly, number) == 0 then members[#members + 1] = number end
        end
        return cjson.encode({membership = tonumber(redis.call('GET', K.membership) or '0'), numbers = table.concat(members, ',')})
        """#, idempotent: true)
}
