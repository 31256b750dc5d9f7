/// The Redis keys of one Rollcall installation. `workers` is the operator's view
/// (`redis-cli hgetall workers`); the rest is bookkeeping under `rollcall:`.
struct LeaseKeys: Sendable {
    /// In the order `LeaseScripts.prelude` reads them; built once, every script call passes them.
    let all: [String]

    /// `prefix` is prepended to every key: empty in production, unique per test.
    init(prefix: String) {
        all = [
            prefix + "workers",  // hash: name -> one line of JSON
            prefix + "rollcall:expiry",  // zset: name -> lease expiry (ms, Redis clock)
            prefix + "rollcall:numbers",  // hash: number -> name
            prefix + "rollcall:quarantine",  // zset: number -> grantable again at (ms)
            prefix + "rollcall:epoch",  // string: the last epoch granted
            prefix + "rollcall:membership",  // string: bumped on every join and leave
            prefix + "rollcall:targets",  // hash: number -> partitions the published assignment gives it
            prefix + "rollcall:grants",  // hash: partition -> number allowed to process it
            prefix + "rollcall:granted-by",  // hash: number -> partitions it holds a grant on
            prefix + "rollcall:assignment",  // hash: version, membership, owners, members
            prefix + "rollcall:leader",  // string with PX: the rebalancer's leader token
        ]
    }

    var workers: String { all[0] }
    var grants: String { all[7] }
    var assignment: String { all[9] }
    var leader: String { all[10] }
}
