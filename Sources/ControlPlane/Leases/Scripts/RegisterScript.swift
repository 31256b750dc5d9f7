import Coordination
import RedisAdapter

/// `register` (lua/register.lua): records a pool created on first use, if fewer than `limit` are.
/// Idempotent: a second run finds the pool registered.
struct RegisterScript: LeaseScript {
    typealias Key = ControlKey
    var pool: PoolName
    var limit: Int

    enum Argument: String, ScriptName { case pool, limit }

    func argument(_ argument: Argument) -> String {
        switch argument {
        case .pool: pool.rawValue
        case .limit: String(limit)
        }
    }

    enum Field: String, ScriptName { case registered }

    /// Whether the pool is registered.
    static func reply(_ fields: ScriptReply<Field>) -> Bool? { fields.flag(.registered) }

    static let name = "register"
    static let script = load(LuaSource.register, idempotent: true)
}
