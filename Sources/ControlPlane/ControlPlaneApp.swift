import Coordination
import Hummingbird
import Logging
import RedisAdapter
import ServerSupport
import ServiceLifecycle

/// One control-plane replica: its Redis pool, its pools, the HTTP application, and the services that
/// run inside the application's ServiceGroup (graceful shutdown on SIGTERM/SIGINT): the pool keeper
/// and, with POOLS_FILE, the watcher that puts a changed file in force.
struct ControlPlaneApp: Sendable {
    let configuration: ControlPlaneConfiguration
    let redis: RedisPool
    let metrics: ControlPlaneMetrics
    let pools: PoolDirectory
    let access: AccessControl
    /// The HTTPS context and its reloader, with TLS_CERT_FILE and TLS_KEY_FILE.
    let tls: (ServerTLS, TLSReloader)?
    let logger: Logger

    init(configuration: ControlPlaneConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let metrics = ControlPlaneMetrics()
        self.metrics = metrics
        let redis = RedisPool(
            configuration: try configuration.redisConfiguration(),
            onPrimaryChange: LeaseService.primaryChanges(metrics: metrics, logger: logger))
        self.redis = redis
        let prefix = configuration.keyPrefix
        let schedule = PoolSchedule(redis: redis, keys: ControlKeys(prefix: prefix))
        let pools = PoolDirectory(configuration.pools, schedule: schedule) { pool, settings, label in
            LeaseService(
                pool: pool,
                store: LeaseStore(redis: redis, keys: LeaseKeys(prefix: prefix, pool: pool), partitionCount: settings.partitionCount),
                settings: settings, metrics: metrics, metricsLabel: label, schedule: schedule)
        }
        self.pools = pools
        access = try AccessControl(settings: configuration.access, metrics: metrics, logger: logger) { pools.settings(named: $0) }
        tls = try configuration.http.makeTLS(logger: logger)
    }

    /// The HTTP application with the pool keeper (and the POOLS_FILE watcher) attached as services.
    func application() -> some ApplicationProtocol {
        let router = Router(context: ControlPlaneContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: CanonicalPathMiddleware())
        router.add(middleware: AccessMiddleware(access: access))
        Routes(pools: pools, readiness: ReadinessCheck(redis: redis, metrics: metrics), metrics: metrics).register(on: router)
        var services: [any Service] = [
            PoolKeeper(
                pools: pools, metrics: metrics, interval: configuration.rebalanceInterval, leaderLease: configuration.leaderLease,
                sweepPeriod: configuration.poolSweepInterval, logger: logger)
        ]
        if let (_, reloader) = tls { services.append(reloader) }
        if let path = configuration.access.tokensFile {
            services.append(TokensFileWatcher(path: path, access: access, interval: configuration.tokensFileCheckInterval, logger: logger))
        }
        if let path = configuration.poolsFile {
            services.append(
                PoolsFileWatcher(
                    path: path, defaults: configuration.lease, pools: pools, metrics: metrics,
                    interval: configuration.poolsFileCheckInterval,
                    logger: logger))
        }
        return Application(
            router: router,
            server: configuration.http.server(tls: tls?.0),
            configuration: configuration.http.configuration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "rollcall-control-plane"),
            services: services,
            logger: logger
        )
    }

    /// Serves until SIGTERM or SIGINT, then closes the Redis pool.
    func run() async throws {
        logger.info(
            "control plane starting",
            metadata: [
                "version": "\(rollcallVersion)", "port": "\(configuration.port)",
                "tls": "\(configuration.http.tls.map { "on\($0.clientCA == nil ? "" : ", client certificates required")" } ?? "off")",
                "pools":
                    "\(configuration.pools.pools.map { "\($0.name) (\($0.settings.partitionCount) partitions, \($0.settings.maxWorkers) numbers, TTL \($0.settings.leaseTTL))" })",
                "autoCreate": "\(configuration.pools.autoCreate.map { "up to \($0.maxPools) pools" } ?? "off")",
                "redis":
                    "\(configuration.redisSentinels.map { "sentinels \($0) master \(configuration.redisSentinelMaster)" } ?? "single")",
                "minReplicas": "\(configuration.redisMinReplicas)",
                "access":
                    "\(configuration.access.requiresCredentials ? "credentials required" : "open (no AUTH_TOKEN, AUTH_TOKENS_FILE or AUTH_OIDC_ISSUER)")",
                "oidcIssuer": "\(configuration.access.oidc?.issuer ?? "none")",
                "rateLimit": "\(configuration.access.rateLimit.map { "\($0)" } ?? "none")",
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
            await access.shutdown()
            throw error
        }
        await redis.shutdown()
        await access.shutdown()
    }
}
