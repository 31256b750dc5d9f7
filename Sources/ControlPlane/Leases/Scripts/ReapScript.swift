import Coordination
import RedisAdapter

/// `reap` (lua/reap.lua): releases every lease past its expiry, also when no heartbeat arrives, and
/// notices a store that lost its state. Idempotent: a second run finds nothing more to release.
struct ReapScript: LeaseScript {
    var settings: LeaseSettings

    enum Argument: String, ScriptName { case quarantineMs, leaseTTLMs }

    func argument(_ argument: Argument) -> String {
        switch argument {
        case .quarantineMs: String(settings.numberQuarantine.wholeMilliseconds)
        case .leaseTTLMs: String(settings.leaseTTL.wholeMilliseconds)
        }
    }

    enum Field: String, ScriptName { case expired, live, numberOnly, generation }

    struct Reply: Sendable, Equatable {
        /// The leases this run released.
        var expired: Int
        /// The live leases left; of them `numberOnly` are number-only.
        var live: Int
        var numberOnly: Int
        var generation: Generation
    }

    static func reply(_ fields: ScriptReply<Field>) -> Reply? {
        guard let expired = fields.count(.expired), let live = fields.count(.live), let numberOnly = fields.count(.numberOnly),
            let generation = fields.string(.generation).map(Generation.init(rawValue:))
        else { return nil }
        return Reply(expired: Int(expired), live: Int(live), numberOnly: Int(numberOnly), generation: generation)
    }

    static let name = "reap"
    static let script = load(LuaSource.reap, idempotent: true)
}
