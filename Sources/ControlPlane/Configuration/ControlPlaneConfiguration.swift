import Logging
import RedisAdapter
import ServerSupport

/// Everything the control plane is configured with; `ControlPlaneCommand` fills it from flags and environment.
struct ControlPlaneConfiguration: Sendable {
    var host = "0.0.0.0"
    var port = 8080
    var redisURL = "redis://127.0.0.1:6379"
    /// REDIS_PASSWORD(_FILE): replaces the URL's password, so a URL without secrets can sit in plain config.
    var redisPassword: String? = nil
    var redisCommandTimeout: Duration = .seconds(1)
    var redisPoolSize = 8
    /// REDIS_SENTINELS, REDIS_SENTINEL_MASTER, REDIS_SENTINEL_PASSWORD: with Sentinels, REDIS_URL gives only
    /// the primary's password and database; its host and port are not used.
    var redisSentinels: String? = nil
    var redisSentinelMaster = "mymaster"
    var redisSentinelPassword: String? = nil
    /// REDIS_MIN_REPLICAS: replicas that must have each lease change before it is acknowledged.
    var redisMinReplicas = 0
    /// REDIS_REPLICATION_TIMEOUT: how long the WAIT for them may take.
    var redisReplicationTimeout: Duration = .milliseconds(500)
    /// REDIS_PRIMARY_LEASE: with Sentinels, how long after a majority of them last named a primary it is
    /// still written to; lost state is waited out this much longer than a lease.
    var redisPrimaryLease: Duration = .milliseconds(500)
    /// Prepended to every Redis key; lets several installations (or tests) share one Redis.
    var keyPrefix = ""
    /// Credentials, roles and rate limits (AUTH_TOKEN, AUTH_TOKENS_FILE, AUTH_OIDC_*, RATE_LIMIT*).
    var access = AccessControl.Settings()
    /// AUTH_TOKEN: with it, every route but /healthz, /readyz and /metrics needs a credential; it is one
    /// (role admin).
    var authToken: String? {
        get { access.sharedToken }
        set { access.sharedToken = newValue }
    }
    /// How often AUTH_TOKENS_FILE is read for changes.
    var tokensFileCheckInterval: Duration = .seconds(2)
    /// The environment's settings: the `default` pool's without POOLS_FILE, every field a pool in the
    /// file leaves out with one.
    var lease = LeaseSettings()
    /// POOLS_FILE: the pools, re-read every `poolsFileCheckInterval`; nil serves the one `default` pool.
    var poolsFile: String? = nil
    /// What POOLS_FILE declared at start.
    var filePools: PoolDeclarations? = nil
    var poolsFileCheckInterval: Duration = .seconds(2)
    /// How often each replica renews or tries the leader lease; the leader then works the due pools.
    var rebalanceInterval: Duration = .milliseconds(100)
    var leaderLease: Duration = .seconds(3)
    /// POOL_SWEEP_INTERVAL: how often the leader looks at every pool, idle ones included, to find a change
    /// whose mark was lost (a replica that died between a script and its mark). What an idle pool costs.
    var poolSweepInterval: Duration = .seconds(60)
    var logLevel: Logger.Level = .info
    /// Timeouts and the connection limit of the HTTP server.
    var http = HTTPLimits()

    /// The pools at start: POOLS_FILE's, or the one `default` pool from the environment.
    var pools: PoolDeclarations { filePools ?? .single(lease) }

    /// The Redis pool's settings: one address, or the Sentinels to ask for the primary.
    func redisConfiguration() throws -> RedisConfiguration {
        var redis = try RedisConfiguration(
            url: redisURL, connectTimeout: redisCommandTimeout, commandTimeout: redisCommandTimeout, poolSize: redisPoolSize)
        if let redisPassword { redis.password = redisPassword }
        if let redisSentinels {
            redis.sentinel = try RedisSentinelConfiguration(
                list: redisSentinels, masterName: redisSentinelMaster, password: redisSentinelPassword)
        }
        redis.minReplicas = redisMinReplicas
        redis.replicationTimeout = redisReplicationTimeout
        redis.primaryLease = redisPrimaryLease
        return redis
    }
}
