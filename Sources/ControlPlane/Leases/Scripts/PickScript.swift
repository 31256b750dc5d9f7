import Coordination
import RedisAdapter

/// `pick` (lua/pick.lua): takes the pools that are due from the pool schedule, earliest first. Not
/// idempotent: a second run takes the next pools, so a lost reply leaves its pools to the sweep.
struct PickScript: LeaseScript {
    typealias Key = ControlKey
    var limit: Int

    enum Argument: String, ScriptName { case limit }

    func argument(_ argument: Argument) -> String { String(limit) }

    enum Field: String, ScriptName { case pools, more }

    struct Reply: Sendable, Equatable {
        /// The pools taken; a name that is not a pool name (written by hand) is left out.
        var pools: [PoolName]
        /// More pools are due than were taken.
        var more: Bool
    }

    static func reply(_ fields: ScriptReply<Field>) -> Reply? {
        guard let text = fields.string(.pools), let more = fields.flag(.more) else { return nil }
        return Reply(pools: text.split(separator: ",").compactMap { PoolName(rawValue: String($0)) }, more: more)
    }

    static let name = "pick"
    static let script = load(LuaSource.pick, idempotent: false)
}
