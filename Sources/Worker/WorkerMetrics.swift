import CoreMetrics
import Metrics
import Prometheus
import RollcallClient

/// What the worker counts, in its own Prometheus registry served at /metrics.
struct WorkerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let leaseSafe: CoreMetrics.Gauge
    let partitionsOwned: CoreMetrics.Gauge
    let rowsTouched: CoreMetrics.Counter
    let workRounds: CoreMetrics.Counter
    let workFailures: CoreMetrics.Counter
    let partitionsFenced: CoreMetrics.Counter
    let claimsCommitted: CoreMetrics.Counter
    let claimFailures: CoreMetrics.Counter
    /// `rollcall_worker_claims_lost_total`: claims PostgreSQL no longer had (made again).
    let claimsLost: CoreMetrics.Counter
    /// `rollcall_worker_database_failovers_total`: times the worker found PostgreSQL on a new timeline.
    let databaseFailovers: CoreMetrics.Counter
    let idsIssued: CoreMetrics.Counter
    /// `rollcall_worker_work_round_seconds`: one work round (its transactions: lock the claims, check, update), failed ones too.
    let workRoundDuration: CoreMetrics.Timer
    /// `rollcall_worker_claim_round_seconds`: one claim statement over the grants due, failed ones too.
    let claimRoundDuration: CoreMetrics.Timer
    /// `rollcall_worker_leases_lost_total{reason}`: times the lease stopped being safe, by why (a release
    /// at shutdown is not a loss). Repeated losses alert (chart/templates/prometheusrule.yaml).
    private let leasesLost: [String: CoreMetrics.Counter]

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let factory = PrometheusMetricsFactory(registry: registry)
        func counter(_ label: String) -> CoreMetrics.Counter { CoreMetrics.Counter(label: label, dimensions: [], factory: factory) }
        leaseSafe = CoreMetrics.Gauge(label: "rollcall_worker_lease_safe", dimensions: [], factory: factory)
        partitionsOwned = CoreMetrics.Gauge(label: "rollcall_worker_partitions_owned", dimensions: [], factory: factory)
        rowsTouched = counter("rollcall_worker_rows_touched_total")
        workRounds = counter("rollcall_worker_work_rounds_total")
        workFailures = counter("rollcall_worker_work_failures_total")
        partitionsFenced = counter("rollcall_worker_partitions_fenced_total")
        claimsCommitted = counter("rollcall_worker_claims_total")
        claimFailures = counter("rollcall_worker_claim_failures_total")
        claimsLost = counter("rollcall_worker_claims_lost_total")
        databaseFailovers = counter("rollcall_worker_database_failovers_total")
        idsIssued = counter("rollcall_worker_ids_issued_total")
        workRoundDuration = CoreMetrics.Timer(label: "rollcall_worker_work_round_seconds", dimensions: [], factory: factory)
        claimRoundDuration = CoreMetrics.Timer(label: "rollcall_worker_claim_round_seconds", dimensions: [], factory: factory)
        leasesLost = Dictionary(
            uniqueKeysWithValues: ["expired", "replaced", "conflict", "unknownToStore"].map { reason in
                (
                    reason,
                    CoreMetrics.Counter(label: "rollcall_worker_leases_lost_total", dimensions: [("reason", reason)], factory: factory)
                )
            })
    }

    func leaseLost(_ reason: LeaseLossReason) {
        let label: String
        switch reason {
        case .expired: label = "expired"
        case .replaced: label = "replaced"
        case .conflict: label = "conflict"
        case .unknownToStore: label = "unknownToStore"
        case .released: return
        }
        leasesLost[label]?.increment()
    }

    func claims(claimed: Int, fenced: Int) {
        claimsCommitted.increment(by: claimed)
        partitionsFenced.increment(by: fenced)
    }

    /// One work transaction's result (a round runs one per `WORK_BATCH` partitions).
    func worked(_ result: WorkResult) {
        rowsTouched.increment(by: result.rowsTouched)
        partitionsFenced.increment(by: result.fenced.count)
        claimsLost.increment(by: result.lost.count)
    }

    func exposition() -> String { registry.emitToString() }
}
