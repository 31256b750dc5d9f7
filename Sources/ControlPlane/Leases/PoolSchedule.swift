import Coordination
import RedisAdapter

/// The installation's keys that belong to no pool: the leader lease and the pool schedule, a sorted set
/// of pool -> when the leader should look at it next (docs/design.md, "Pools").
///
/// A replica marks a pool due (score 0) after a change that needs a look: a new lease (it must be
/// reaped when it ends), an expiry or a release (the layout must follow). The leader takes the due
/// pools, looks at each, and puts it back at its next lease expiry with `ZADD LT`, which keeps a lower
/// mark made meanwhile. A pool with no live lease and a current layout is not in the set at all: an
/// idle pool costs nothing. A mark lost between a script and its ZADD (a replica that died there) is
/// found by the leader's sweep, which marks every pool due when it takes the lead and every `sweepPeriod`.
struct PoolSchedule: Sendable {
    let redis: RedisPool
    let keys: ControlKeys

    /// Marks `pool` due now. A failure is not the caller's: the sweep finds the pool later.
    func markDue(_ pool: PoolName) async { _ = try? await markDue([pool]) }

    /// Marks every pool of `pools` due now (one command).
    func markDue(_ pools: [PoolName]) async throws(RedisError) {
        guard !pools.isEmpty else { return }
        _ = try await redis.command(["ZADD", keys[.due], "LT"] + pools.flatMap { ["0", $0.rawValue] }, retry: .retryOnceOnConnectionLoss)
    }

    /// Puts `pool` back at `millis` (Redis time), unless it is marked earlier already.
    func schedule(_ pool: PoolName, at millis: Int64) async throws(RedisError) {
        _ = try await redis.command(["ZADD", keys[.due], "LT", String(millis), pool.rawValue], retry: .retryOnceOnConnectionLoss)
    }

    /// Takes up to `limit` due pools.
    func pick(limit: Int) async throws(LeaseStoreError) -> PickScript.Reply { try await run(PickScript(limit: limit)) }

    /// Takes or renews the leader lease for `token`.
    func lead(token: String, lease: Duration) async throws(LeaseStoreError) -> LeadScript.Reply {
        try await run(LeadScript(token: token, lease: lease))
    }

    /// Records `pool` as created on first use, if fewer than `limit` are; whether it is one now.
    func register(_ pool: PoolName, limit: Int) async throws(LeaseStoreError) -> Bool {
        try await run(RegisterScript(pool: pool, limit: limit))
    }

    /// The pools created on first use, as every replica registered them.
    func autoCreated() async throws(RedisError) -> [PoolName] {
        let reply = try await redis.command(["SMEMBERS", keys[.autoPools]], retry: .retryOnceOnConnectionLoss)
        return (reply.array ?? []).compactMap { $0.string.flatMap(PoolName.init(rawValue:)) }.sorted()
    }

    private func run<Script: LeaseScript>(_ call: Script) async throws(LeaseStoreError) -> Script.Reply where Script.Key == ControlKey {
        try await redis.run(call, keys: keys.script)
    }
}
