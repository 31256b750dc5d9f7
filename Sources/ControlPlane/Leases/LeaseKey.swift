import RedisAdapter

/// The Redis keys of one Rollcall installation, in the order every lease script receives them.
///
/// `workers` is the operator's view (`redis-cli hgetall workers`); the rest is bookkeeping under
/// `rollcall:`. The Lua prelude's key table is generated from `allCases`, so the Swift side and the
/// scripts cannot disagree on the order.
enum LeaseKey: String, CaseIterable, Sendable {
    /// hash: name -> one line of JSON (`WorkerRecord`)
    case workers
    /// zset: name -> lease expiry (ms, Redis clock)
    case expiry
    /// hash: number -> name
    case numbers
    /// zset: number -> grantable again at (ms)
    case quarantine
    /// string: the last epoch issued (leases and grants draw from it)
    case epoch
    /// string: bumped on every join and leave
    case membership
    /// hash: version, membership, owners, members: the published layout
    case layout
    /// hash: number -> the partitions the published layout gives it (CSV)
    case layoutByNumber
    /// hash: partition -> the number allowed to process it
    case grants
    /// hash: number -> `partition:grantEpoch` CSV of the grants it holds
    case grantedBy
    /// string with PX: the rebalancer's leader token
    case leader
    /// string: `runID:µs` of the Redis process that last wrote the lease state. Missing or written by
    /// another process means Redis may have lost writes (a wipe, a restart, a failover).
    case generation
    /// string: until when (ms) lost state is waited out: no new numbers or grants before it
    case recovery
    /// hash: `name instance` -> `sequence:number` of a lease that ended, so a late request of it stays late
    case retired
    /// zset: `name instance` -> when its lease ended (ms), to forget `retired` entries after a while
    case retiredAt
    /// set: the numbers leased number-only; never members of the layout
    case numberOnly
    /// stream: what happened, newest last (leases granted, expired, released, adopted; layouts
    /// published; recovery begun), about the last 500 entries, for the status page
    case events

    /// The key's name in Redis, after `prefix` (empty in production, unique per test).
    func redisKey(prefix: String) -> String {
        switch self {
        case .workers: prefix + "workers"
        case .layoutByNumber: prefix + "rollcall:layout-by-number"
        case .grantedBy: prefix + "rollcall:granted-by"
        case .retiredAt: prefix + "rollcall:retired-at"
        case .numberOnly: prefix + "rollcall:number-only"
        default: prefix + "rollcall:" + rawValue
        }
    }
}

/// Every key of one installation, resolved once: scripts get `all`, reads get one by name.
struct LeaseKeys: Sendable {
    /// In `LeaseKey.allCases` order, as every script call passes them.
    let all: [String]
    /// `all`, encoded once for the script calls.
    let script: RedisScriptKeys

    init(prefix: String) {
        all = LeaseKey.allCases.map { $0.redisKey(prefix: prefix) }
        script = RedisScriptKeys(all)
    }

    subscript(key: LeaseKey) -> String { all[LeaseKey.allCases.firstIndex(of: key)!] }
}
