import CoreMetrics
import Metrics
import Prometheus

/// Everything the control plane counts, registered in one Prometheus registry served at /metrics.
///
/// Built from a factory (not the global MetricsSystem) so several control planes in one test
/// process keep separate figures. `LeaseService` is the only code that records into it.
struct ControlPlaneMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let liveWorkers: CoreMetrics.Gauge
    /// Of the live leases, the number-only ones.
    let numberOnlyLeases: CoreMetrics.Gauge
    let leasesGranted: CoreMetrics.Counter
    let leasesExpired: CoreMetrics.Counter
    let leasesReleased: CoreMetrics.Counter
    /// Leases the store had lost and took back from their holder's claim.
    let leasesAdopted: CoreMetrics.Counter
    /// Times a replica saw the store change generation (a wipe, a restart, a failover).
    let storeGenerations: CoreMetrics.Counter
    let layoutVersion: CoreMetrics.Gauge
    let partitionsMoved: CoreMetrics.Counter
    let handoffsPending: CoreMetrics.Gauge
    /// Partitions no live worker holds a grant on (nobody may process them), as the leader last counted.
    let partitionsUnowned: CoreMetrics.Gauge
    /// 1 while this replica leads the rebalancer. Only the leader refreshes the two gauges above, so
    /// alerts read them from the replica where this is 1.
    let rebalancerLeader: CoreMetrics.Gauge
    let redisLatency: CoreMetrics.Timer
    /// 1 while this replica's last reaper round (every 250 ms) reached Redis, 0 after one failed.
    let redisReachable: CoreMetrics.Gauge
    /// 1 while the last lease script's writes reached REDIS_MIN_REPLICAS replicas (always 1 with none required).
    let replicationAcknowledged: CoreMetrics.Gauge
    /// Replicas connected to the primary, as its ROLE listed them at the last /readyz.
    let replicasConnected: CoreMetrics.Gauge
    /// Times this replica learned of a new Redis primary (the first one included).
    let primaryChanges: CoreMetrics.Counter
    private let factory: PrometheusMetricsFactory
    private let heartbeatCounters: [HeartbeatResult: CoreMetrics.Counter]

    /// How a heartbeat request ended, as the `rollcall_heartbeats_total{outcome=…}` label says.
    enum HeartbeatResult: String, CaseIterable, Sendable {
        case granted, conflict, exhausted, invalid, unavailable, stale, recovering, unreplicated
    }

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let factory = PrometheusMetricsFactory(registry: registry)
        liveWorkers = CoreMetrics.Gauge(label: "rollcall_live_workers", dimensions: [], factory: factory)
        numberOnlyLeases = CoreMetrics.Gauge(label: "rollcall_number_only_leases", dimensions: [], factory: factory)
        leasesGranted = CoreMetrics.Counter(label: "rollcall_leases_granted_total", dimensions: [], factory: factory)
        leasesExpired = CoreMetrics.Counter(label: "rollcall_leases_expired_total", dimensions: [], factory: factory)
        leasesReleased = CoreMetrics.Counter(label: "rollcall_leases_released_total", dimensions: [], factory: factory)
        leasesAdopted = CoreMetrics.Counter(label: "rollcall_leases_adopted_total", dimensions: [], factory: factory)
        storeGenerations = CoreMetrics.Counter(label: "rollcall_store_generation_changes_total", dimensions: [], factory: factory)
        layoutVersion = CoreMetrics.Gauge(label: "rollcall_layout_version", dimensions: [], factory: factory)
        partitionsMoved = CoreMetrics.Counter(label: "rollcall_partitions_moved_total", dimensions: [], factory: factory)
        handoffsPending = CoreMetrics.Gauge(label: "rollcall_handoffs_pending", dimensions: [], factory: factory)
        partitionsUnowned = CoreMetrics.Gauge(label: "rollcall_partitions_unowned", dimensions: [], factory: factory)
        rebalancerLeader = CoreMetrics.Gauge(label: "rollcall_rebalancer_leader", dimensions: [], factory: factory)
        redisLatency = CoreMetrics.Timer(label: "rollcall_redis_call_duration_seconds", dimensions: [], factory: factory)
        redisReachable = CoreMetrics.Gauge(label: "rollcall_redis_reachable", dimensions: [], factory: factory)
        replicationAcknowledged = CoreMetrics.Gauge(label: "rollcall_redis_replication_acknowledged", dimensions: [], factory: factory)
        replicasConnected = CoreMetrics.Gauge(label: "rollcall_redis_replicas_connected", dimensions: [], factory: factory)
        primaryChanges = CoreMetrics.Counter(label: "rollcall_redis_primary_changes_total", dimensions: [], factory: factory)
        self.factory = factory
        heartbeatCounters = Dictionary(
            uniqueKeysWithValues: HeartbeatResult.allCases.map {
                ($0, CoreMetrics.Counter(label: "rollcall_heartbeats_total", dimensions: [("outcome", $0.rawValue)], factory: factory))
            })
    }

    func heartbeat(_ result: HeartbeatResult) { heartbeatCounters[result]?.increment() }

    /// `rollcall_redis_primary{address=…}`: 1 for the primary this replica uses, 0 for the one before.
    func primaryChanged(from old: String?, to new: String) {
        if let old { CoreMetrics.Gauge(label: "rollcall_redis_primary", dimensions: [("address", old)], factory: factory).record(0) }
        CoreMetrics.Gauge(label: "rollcall_redis_primary", dimensions: [("address", new)], factory: factory).record(1)
        primaryChanges.increment()
    }

    /// The Prometheus text exposition of every metric.
    func exposition() -> String { registry.emitToString() }
}
