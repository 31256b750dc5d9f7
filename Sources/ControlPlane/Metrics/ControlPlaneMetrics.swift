import CoreMetrics
import Metrics
import Prometheus
import Synchronization

/// Everything the control plane counts, registered in one Prometheus registry served at /metrics.
///
/// Built from a factory (not the global MetricsSystem) so several control planes in one test
/// process keep separate figures. What belongs to a pool is in `PoolMetrics`, labelled by pool; this
/// holds what belongs to the replica (its Redis, its leadership).
struct ControlPlaneMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    /// 1 while this replica leads (works the pool schedule: reaps, publishes layouts, refreshes the pool
    /// gauges). Alerts read the pool gauges from the replica where this is 1.
    let rebalancerLeader: CoreMetrics.Gauge
    let redisLatency: CoreMetrics.Timer
    /// 1 while this replica's last leader-lease round (every REBALANCE_INTERVAL) reached Redis, 0 after one failed.
    let redisReachable: CoreMetrics.Gauge
    /// 1 while the last lease script's writes reached REDIS_MIN_REPLICAS replicas (always 1 with none required).
    let replicationAcknowledged: CoreMetrics.Gauge
    /// Replicas connected to the primary, as its ROLE listed them at the last /readyz.
    let replicasConnected: CoreMetrics.Gauge
    /// Times this replica learned of a new Redis primary (the first one included).
    let primaryChanges: CoreMetrics.Counter
    /// Pools the leader looked at (reaped, and published a layout for when it was not current).
    let poolRounds: CoreMetrics.Counter
    /// Times a changed POOLS_FILE was refused (invalid) or a pool's change was held back (live workers).
    let poolsFileRefusals: CoreMetrics.Counter
    private let factory: PrometheusMetricsFactory
    /// `rollcall_access_refusals_total` by status and reason, made on first use: a flood of refusals
    /// then costs one dictionary lookup each, not a registry lookup.
    private let refusals = CounterCache()

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let factory = PrometheusMetricsFactory(registry: registry)
        rebalancerLeader = CoreMetrics.Gauge(label: "rollcall_rebalancer_leader", dimensions: [], factory: factory)
        redisLatency = CoreMetrics.Timer(label: "rollcall_redis_call_duration_seconds", dimensions: [], factory: factory)
        redisReachable = CoreMetrics.Gauge(label: "rollcall_redis_reachable", dimensions: [], factory: factory)
        replicationAcknowledged = CoreMetrics.Gauge(label: "rollcall_redis_replication_acknowledged", dimensions: [], factory: factory)
        replicasConnected = CoreMetrics.Gauge(label: "rollcall_redis_replicas_connected", dimensions: [], factory: factory)
        primaryChanges = CoreMetrics.Counter(label: "rollcall_redis_primary_changes_total", dimensions: [], factory: factory)
        poolRounds = CoreMetrics.Counter(label: "rollcall_pool_rounds_total", dimensions: [], factory: factory)
        poolsFileRefusals = CoreMetrics.Counter(label: "rollcall_pools_file_refusals_total", dimensions: [], factory: factory)
        self.factory = factory
    }

    /// The metrics of one pool, labelled `pool="NAME"`; pools created on first use share `pool="_auto"`,
    /// so the label's values are bounded by the declared pools.
    func pool(label: String) -> PoolMetrics { PoolMetrics(pool: label, factory: factory) }

    /// `rollcall_redis_primary{address=…}`: 1 for the primary this replica uses, 0 for the one before.
    func primaryChanged(from old: String?, to new: String) {
        if let old { CoreMetrics.Gauge(label: "rollcall_redis_primary", dimensions: [("address", old)], factory: factory).record(0) }
        CoreMetrics.Gauge(label: "rollcall_redis_primary", dimensions: [("address", new)], factory: factory).record(1)
        primaryChanges.increment()
    }

    /// `rollcall_access_refusals_total{status, reason}`: a request refused for its credentials (401),
    /// its role, name or service account (403), its rate limit (429), or an issuer that could not be
    /// asked (503). `reason` is one of a few fixed words.
    func accessRefused(status: Int, reason: String) {
        let key = "\(status) \(reason)"
        let counter = refusals.counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(
                label: "rollcall_access_refusals_total", dimensions: [("status", "\(status)"), ("reason", reason)], factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    /// The Prometheus text exposition of every metric.
    func exposition() -> String { registry.emitToString() }
}

/// What the control plane counts for one pool, every series labelled `pool`.
struct PoolMetrics: Sendable {
    /// Live leases, as the leader last counted them (at the pool's last round).
    let liveWorkers: CoreMetrics.Gauge
    /// Of the live leases, the number-only ones.
    let numberOnlyLeases: CoreMetrics.Gauge
    let leasesGranted: CoreMetrics.Counter
    let leasesExpired: CoreMetrics.Counter
    let leasesReleased: CoreMetrics.Counter
    /// Leases the store had lost and took back from their holder's claim.
    let leasesAdopted: CoreMetrics.Counter
    /// Times a replica saw the pool's store generation change (a wipe, a restart, a failover).
    let storeGenerations: CoreMetrics.Counter
    let layoutVersion: CoreMetrics.Gauge
    let partitionsMoved: CoreMetrics.Counter
    let handoffsPending: CoreMetrics.Gauge
    /// Partitions no live worker holds a grant on (nobody may process them), as the leader last counted.
    let partitionsUnowned: CoreMetrics.Gauge
    /// 1 while a changed POOLS_FILE entry for the pool waits (its partition count cannot change with live workers).
    let settingsPending: CoreMetrics.Gauge
    /// The pool's partition count (0: numbers only), so an alert about partition workers skips number-only pools.
    let partitions: CoreMetrics.Gauge
    /// `balance: load`: the most loaded worker's load over the mean, at the leader's last load round.
    let loadMaxOverMean: CoreMetrics.Gauge
    /// The pool's total reported load (rows per second, the backlog counted in) at the leader's last
    /// load round (pools that store load reports: `balance: load` or `targetLoadPerWorker`).
    let loadTotal: CoreMetrics.Gauge
    /// `targetLoadPerWorker`: the workers that load needs, at most `maxWorkers`, at that round.
    let desiredWorkers: CoreMetrics.Gauge
    private let heartbeatCounters: [HeartbeatResult: CoreMetrics.Counter]

    /// How a heartbeat request ended, as the `rollcall_heartbeats_total{outcome=…}` label says.
    enum HeartbeatResult: String, CaseIterable, Sendable {
        case granted, conflict, exhausted, invalid, unavailable, stale, recovering, unreplicated
    }

    init(pool: String, factory: PrometheusMetricsFactory) {
        let labels = [("pool", pool)]
        func gauge(_ name: String) -> CoreMetrics.Gauge { CoreMetrics.Gauge(label: name, dimensions: labels, factory: factory) }
        func counter(_ name: String) -> CoreMetrics.Counter { CoreMetrics.Counter(label: name, dimensions: labels, factory: factory) }
        liveWorkers = gauge("rollcall_live_workers")
        numberOnlyLeases = gauge("rollcall_number_only_leases")
        leasesGranted = counter("rollcall_leases_granted_total")
        leasesExpired = counter("rollcall_leases_expired_total")
        leasesReleased = counter("rollcall_leases_released_total")
        leasesAdopted = counter("rollcall_leases_adopted_total")
        storeGenerations = counter("rollcall_store_generation_changes_total")
        layoutVersion = gauge("rollcall_layout_version")
        partitionsMoved = counter("rollcall_partitions_moved_total")
        loadMaxOverMean = gauge("rollcall_load_max_over_mean")
        loadTotal = gauge("rollcall_load_total")
        desiredWorkers = gauge("rollcall_desired_workers")
        handoffsPending = gauge("rollcall_handoffs_pending")
        partitionsUnowned = gauge("rollcall_partitions_unowned")
        settingsPending = gauge("rollcall_pool_settings_pending")
        partitions = gauge("rollcall_pool_partitions")
        heartbeatCounters = Dictionary(
            uniqueKeysWithValues: HeartbeatResult.allCases.map {
                (
                    $0,
                    CoreMetrics.Counter(
                        label: "rollcall_heartbeats_total", dimensions: labels + [("outcome", $0.rawValue)], factory: factory)
                )
            })
    }

    func heartbeat(_ result: HeartbeatResult) { heartbeatCounters[result]?.increment() }
}

/// Counters made on first use, by a key of their labels.
final class CounterCache: Sendable {
    let counters = Mutex<[String: CoreMetrics.Counter]>([:])
}
