/// `GET /v1/pools/{pool}/fleet`: the pool's reported load and the worker count it needs.
///
/// The load is the sum of the latest report of every partition (rows done per second plus rows
/// waiting over the pool's `backlogSeconds`, as `balance: load` weighs them). Work done is bounded by
/// the workers there are, so a fleet too small for its inbox reports a growing backlog, and that
/// backlog is what raises the count. `desiredWorkers` is what an autoscaler (KEDA's `metrics-api`
/// scaler, the chart's `autoscaling`) sets the worker Deployment to.
public struct FleetSize: Codable, Hashable, Sendable {
    public var pool: PoolName
    /// The sum of the partitions' latest reported loads.
    public var load: Double
    /// How many partitions have a report.
    public var reportedPartitions: Int
    /// The pool's setting; nil when none is set (then `desiredWorkers` is nil too).
    public var targetLoadPerWorker: Double?
    /// `ceil(load / targetLoadPerWorker)`, at most `maxWorkers` (0 with no load).
    public var desiredWorkers: Int?
    public var maxWorkers: Int
    /// Live leases (as `GET /v1/pools` counts them).
    public var liveWorkers: Int

    public init(
        pool: PoolName, load: Double, reportedPartitions: Int, targetLoadPerWorker: Double?, maxWorkers: Int, liveWorkers: Int
    ) {
        self.pool = pool
        self.load = load
        self.reportedPartitions = reportedPartitions
        self.targetLoadPerWorker = targetLoadPerWorker
        self.desiredWorkers = targetLoadPerWorker.map { Self.desiredWorkers(load: load, targetLoadPerWorker: $0, maxWorkers: maxWorkers) }
        self.maxWorkers = maxWorkers
        self.liveWorkers = liveWorkers
    }

    /// The workers `load` needs at `targetLoadPerWorker` each: `ceil(load / target)`, in `0...maxWorkers`.
    public static func desiredWorkers(load: Double, targetLoadPerWorker: Double, maxWorkers: Int) -> Int {
        guard load > 0, targetLoadPerWorker > 0 else { return 0 }
        let needed = (load / targetLoadPerWorker).rounded(.up)
        return needed >= Double(maxWorkers) ? maxWorkers : Int(needed)
    }
}
