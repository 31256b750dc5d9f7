import Coordination

/// The lease and layout settings every part of the control plane shares.
struct LeaseSettings: Sendable, Hashable {
    var leaseTTL: Duration = .seconds(10)
    var heartbeatInterval: Duration = .seconds(1)
    var numberQuarantine: Duration = .seconds(2)
    var partitionCount = 1024
    var maxWorkers = 1024
    var epsilon = 0.1
    var consumerGroupPrefix = "inbox"
    /// What the layout balances: partition counts (the rendezvous layout) or reported load.
    var balance = Balance.count
    /// `balance: load`: the most partitions one load round moves between live workers.
    var moveBudget = 64
    /// `balance: load`: how often the leader runs a load round for the pool.
    var loadRoundInterval: Duration = .seconds(10)
    /// `balance: load`: a partition's load is its rows done per second plus its rows waiting over this
    /// many seconds (the backlog drained within it).
    var backlogSeconds = 60.0
    /// The load one worker should carry: with it set, the pool stores its workers' load reports (in
    /// either balance) and answers the worker count its load needs (`GET .../fleet`,
    /// `rollcall_desired_workers`). Nil: no fleet size.
    var targetLoadPerWorker: Double?

    /// `serviceAccounts`: the service accounts (`namespace/name`) whose pods may heartbeat in the pool;
    /// nil admits any service account of the OIDC issuer.
    var serviceAccounts: Set<String>?
    /// `rateLimit` and `rateLimitBurst`: each caller's rate limit in this pool; nil: RATE_LIMIT's.
    var rateLimit: RateLimit?

    /// How long recovery waits out a store that lost its state (the scripts' `recoveryMs`): a lease TTL,
    /// so every lease granted before the loss has lapsed, plus `margin` (`LeaseStore.recoveryMargin`:
    /// the primary lease with Sentinels).
    func recoveryWait(margin: Duration) -> Duration { leaseTTL + margin }

    /// Whether the pool keeps its workers' load reports: for balancing by load, or for its fleet size.
    var storesLoad: Bool { balance == .load || targetLoadPerWorker != nil }

    enum Balance: String, Sendable, Hashable, CaseIterable {
        case count, load
    }
}
