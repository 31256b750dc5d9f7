import Coordination
import Hummingbird
import Logging
import RedisAdapter
import ServerSupport

/// One control-plane replica: its Redis pool, the HTTP application, and the reaper and rebalancer
/// services that run inside the application's ServiceGroup (graceful shutdown on SIGTERM/SIGINT).
struct ControlPlaneApp: Sendable {
    let configuration: ControlPlaneConfiguration
    let redis: RedisPool
    let leases: LeaseService
    let logger: Logger

    init(configuration: ControlPlaneConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let metrics = ControlPlaneMetrics()
        redis = RedisPool(
            configuration: try configuration.redisConfiguration(),
            onPrimaryChange: LeaseService.primaryChanges(metrics: metrics, logger: logger))
        leases = LeaseService(
            store: LeaseStore(
                redis: redis, keys: LeaseKeys(prefix: configuration.keyPrefix), partitionCount: configuration.lease.partitionCount),
            settings: configuration.lease, metrics: metrics)
    }

    /// The HTTP application with the reaper and rebalancer attached as services.
    func application() -> some ApplicationProtocol {
        let router = Router(context: APIContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: CanonicalPathMiddleware())
        if let token = configuration.authToken { router.add(middleware: BearerAuthMiddleware(token: token)) }
        Routes(leases: leases).register(on: router)
        return Application(
            router: router,
            server: configuration.http.server,
            configuration: configuration.http.configuration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "rollcall-control-plane"),
            services: [
                Reaper(leases: leases, interval: configuration.reapInterval, logger: logger),
                Rebalancer(
                    leases: leases, interval: configuration.rebalanceInterval, leaderLease: configuration.leaderLease, logger: logger),
            ],
            logger: logger
        )
    }

    /// Serves until SIGTERM or SIGINT, then closes the Redis pool.
    func run() async throws {
        logger.info(
            "control plane starting",
            metadata: [
                "version": "\(rollcallVersion)", "port": "\(configuration.port)", "partitions": "\(configuration.lease.partitionCount)",
                "maxWorkers": "\(configuration.lease.maxWorkers)", "leaseTTL": "\(configuration.lease.leaseTTL)",
                "redis":
                    "\(configuration.redisSentinels.map { "sentinels \($0) master \(configuration.redisSentinelMaster)" } ?? "single")",
                "minReplicas": "\(configuration.redisMinReplicas)",
            ])
        if configuration.redisSentinels != nil, configuration.redisMinReplicas == 0 {
            // docs/design.md, "Redis: one node, or Sentinels": without WAIT an old primary acknowledges grants
            // until the Sentinels demote it, and the promoted replica never has them.
            logger.warning(
                "REDIS_SENTINELS without REDIS_MIN_REPLICAS: grants acknowledged by a primary that is being failed over can be lost; set REDIS_MIN_REPLICAS=1"
            )
        }
        do {
            try await application().runService()
        } catch {
            await redis.shutdown()
            throw error
        }
        await redis.shutdown()
    }
}
