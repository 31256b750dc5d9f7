import Coordination
import RedisAdapter

/// The Redis keys of one pool, in the order every lease script receives them.
///
/// The `default` pool keeps the names it had before pools: `workers` is the operator's view
/// (`redis-cli hgetall workers`), the rest is bookkeeping under `rollcall:`. Every other pool's keys
/// are `rollcall:{pool}:NAME`: the pool is the hash tag, so all of a pool's keys sit in one Redis
/// Cluster slot and every script of the pool touches that slot only. The Lua prelude's key table is
/// generated from `allCases`, so the Swift side and the scripts cannot disagree on the order.
enum LeaseKey: String, ScriptName {
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
    /// hash: partition -> its load as last reported by the worker granted it (`balance: load`)
    case loads
    /// stream: what happened, newest last (leases granted, expired, released, adopted; layouts
    /// published; recovery begun), about the last 500 entries, for the status page
    case events

    /// The key's name without the pool: `workers`, or the bookkeeping name after `rollcall:`.
    var name: String {
        switch self {
        case .layoutByNumber: "layout-by-number"
        case .grantedBy: "granted-by"
        case .retiredAt: "retired-at"
        case .numberOnly: "number-only"
        default: rawValue
        }
    }

    /// The key's name in Redis for `pool`, after `prefix` (empty in production, unique per test).
    func redisKey(prefix: String, pool: PoolName = .default) -> String {
        guard pool == .default else { return prefix + "rollcall:{\(pool)}:" + name }
        return self == .workers ? prefix + "workers" : prefix + "rollcall:" + name
    }
}

/// Every key of one pool, resolved once: scripts get `all`, reads get one by name.
struct LeaseKeys: Sendable {
    /// In `LeaseKey.allCases` order, as every script call passes them.
    let all: [String]
    /// `all`, encoded once for the script calls.
    let script: RedisScriptKeys

    init(prefix: String, pool: PoolName = .default) {
        all = LeaseKey.allCases.map { $0.redisKey(prefix: prefix, pool: pool) }
        script = RedisScriptKeys(all)
    }

    subscript(key: LeaseKey) -> String { all[LeaseKey.allCases.firstIndex(of: key)!] }
}

/// The keys of one installation that belong to no pool: the leader lease and the pool schedule. Each is
/// used alone (one key per call), so in a Redis Cluster each may sit in any slot.
enum ControlKey: String, ScriptName {
    /// string with PX: the leader's token. The leader works the pool schedule for every pool.
    case leader
    /// zset: pool -> when the leader should look at it next (ms, Redis clock; 0: now)
    case due
    /// set: the pools created on first use (`autoCreate`), so every replica can list them
    case autoPools

    /// The key's name in Redis, after `prefix`. `rollcall:leader` is the name the default pool's
    /// rebalancer used before pools, so an upgrade keeps one leader.
    func redisKey(prefix: String) -> String {
        switch self {
        case .leader: prefix + "rollcall:leader"
        case .due: prefix + "rollcall:pools:due"
        case .autoPools: prefix + "rollcall:pools:auto"
        }
    }
}

/// The control keys, resolved once.
struct ControlKeys: Sendable {
    let all: [String]
    let script: RedisScriptKeys

    init(prefix: String) {
        all = ControlKey.allCases.map { $0.redisKey(prefix: prefix) }
        script = RedisScriptKeys(all)
    }

    subscript(key: ControlKey) -> String { all[ControlKey.allCases.firstIndex(of: key)!] }
}
