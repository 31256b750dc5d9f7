import Coordination
import RedisAdapter

/// `members` (lua/members.lua): the membership version and the partition workers' numbers at that
/// version, in one consistent read (number-only leases are never members). Read-only, so idempotent.
struct MembersScript: LeaseScript {
    typealias Argument = NoArgument

    enum Field: String, ScriptName { case membership, numbers }

    struct Reply: Sendable, Equatable {
        var membership: Int64
        /// Ascending.
        var numbers: [WorkerNumber]
    }

    static func reply(_ fields: ScriptReply<Field>) -> Reply? {
        guard let membership = fields.count(.membership), let text = fields.string(.numbers),
            let raw = try? ReplyList.integers(text)
        else { return nil }
        let numbers = raw.compactMap(WorkerNumber.init(rawValue:))
        guard numbers.count == raw.count else { return nil }
        return Reply(membership: membership, numbers: numbers.sorted())
    }

    static let name = "members"
    static let script = load(LuaSource.members, idempotent: true)
}
