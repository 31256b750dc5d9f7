import Coordination
import RedisAdapter

/// `reap` (lua/reap.lua): releases every lease past its expiry, also when no heartbeat arrives, notices
/// a store that lost its state, and says when the pool next needs a look and whether its layout is
/// current. Idempotent: a second run finds nothing more to release.
struct ReapScript: LeaseScript {
    var settings: LeaseSettings
    /// How much longer than a lease TTL lost state is waited out (`LeaseStore.recoveryMargin`).
    var recoveryMargin: Duration = .zero

    enum Argument: String, ScriptName { case quarantineMs, recoveryMs, partitions }

    func argument(_ argument: Argument) -> String {
        switch argument {
        case .quarantineMs: String(settings.numberQuarantine.wholeMilliseconds)
        case .recoveryMs: String(settings.recoveryWait(margin: recoveryMargin).wholeMilliseconds)
        case .partitions: String(settings.partitionCount)
        }
    }

    enum Field: String, ScriptName { case expired, live, numberOnly, generation, nowMs, dueMs, layoutCurrent }

    struct Reply: Sendable, Equatable {
        /// The leases this run released.
        var expired: Int
        /// The live leases left; of them `numberOnly` are number-only.
        var live: Int
        var numberOnly: Int
        var generation: Generation
        /// Redis time of the run.
        var nowMillis: Int64
        /// The earliest expiry of a live lease (Redis time, ms); nil with no live lease.
        var dueMillis: Int64?
        /// Whether the published layout is for the current membership and partition count.
        var layoutCurrent: Bool
    }

    static func reply(_ fields: ScriptReply<Field>) -> Reply? {
        guard let expired = fields.count(.expired), let live = fields.count(.live), let numberOnly = fields.count(.numberOnly),
            let generation = fields.string(.generation).map(Generation.init(rawValue:)), let now = fields.count(.nowMs),
            let due = fields.count(.dueMs), let layoutCurrent = fields.flag(.layoutCurrent)
        else { return nil }
        return Reply(
            expired: Int(expired), live: Int(live), numberOnly: Int(numberOnly), generation: generation, nowMillis: now,
            dueMillis: due == 0 ? nil : due, layoutCurrent: layoutCurrent)
    }

    static let name = "reap"
    static let script = load(LuaSource.reap, idempotent: true)
}
