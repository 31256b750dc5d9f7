import ArgumentParser
import Coordination
import Foundation
import Logging
import ServerSupport

/// `control-plane`: serves leases, numbers and the partition layout. Every flag falls back to an environment
/// variable (named in its help), then to a default that works on one machine.
@main
struct ControlPlaneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control-plane", abstract: "Rollcall control plane: leases, numbers and the partition layout.",
        version: rollcallVersion)

    @Option(help: "Address to listen on (HOST).") var host: String?
    @Option(help: "Port to listen on (PORT, default 8080).") var port: Int?
    @Option(
        help:
            "Redis URL, redis://[[user]:password@]host[:port][/db] (REDIS_URL or REDIS_URL_FILE; REDIS_PASSWORD_FILE overrides its password)."
    )
    var redisURL: String?
    @Option(help: "Redis connect and command timeout, e.g. 1s (REDIS_TIMEOUT).") var redisTimeout: String?
    @Option(help: "Prefix for every Redis key (REDIS_KEY_PREFIX, default none).") var redisKeyPrefix: String?
    @Option(
        help: "Sentinels to ask for the Redis primary, host:port,host:port (REDIS_SENTINELS); REDIS_URL then gives only password and db.")
    var redisSentinels: String?
    @Option(help: "The primary's name at the Sentinels (REDIS_SENTINEL_MASTER, default mymaster).") var redisSentinelMaster: String?
    @Option(help: "Replicas that must have each lease change before it is answered (REDIS_MIN_REPLICAS, default 0).")
    var redisMinReplicas: Int?
    @Option(help: "How long to wait for those replicas, e.g. 500ms (REDIS_REPLICATION_TIMEOUT).") var redisReplicationTimeout: String?
    @Option(
        help:
            "With Sentinels: write to a primary only this long after a majority of them last named it, e.g. 500ms (REDIS_PRIMARY_LEASE); lost state is waited out this much longer."
    )
    var redisPrimaryLease: String?
    @Option(help: "Lease time-to-live, e.g. 10s (LEASE_TTL).") var leaseTTL: String?
    @Option(help: "Heartbeat interval told to workers, e.g. 1s (HEARTBEAT_INTERVAL).") var heartbeatInterval: String?
    @Option(help: "How long a freed number waits before reuse, e.g. 2s (NUMBER_QUARANTINE).") var numberQuarantine: String?
    @Option(help: "Number of partitions (PARTITIONS, default 1024).") var partitions: Int?
    @Option(help: "Number of worker numbers, at most 1024 (MAX_WORKERS, default 1024).") var maxWorkers: Int?
    @Option(help: "Allowed overload above the mean share (EPSILON, default 0.1).") var epsilon: Double?
    @Option(help: "Kafka consumer group prefix (CONSUMER_GROUP_PREFIX, default inbox).") var consumerGroupPrefix: String?
    @Option(help: "How often the leader looks at every pool, idle ones too, e.g. 60s (POOL_SWEEP_INTERVAL).")
    var poolSweepInterval: String?
    @Option(help: "A YAML file declaring the pools (POOLS_FILE); without it, one pool named default from the settings above.")
    var poolsFile: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (LOG_LEVEL).") var logLevel: String?
    @OptionGroup var http: HTTPLimitOptions

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        tuneMalloc(environment: environment)
        let configuration = try resolve(environment)
        bootstrapLogging(level: configuration.logLevel)
        let logger = Logger(label: "rollcall.control-plane")
        try await ControlPlaneApp(configuration: configuration, logger: logger).run()
    }

    /// AUTH_TOKENS_FILE, AUTH_OIDC_ISSUER (with AUTH_AUDIENCE, AUTH_OIDC_CA_FILE, AUTH_OIDC_TOKEN_FILE),
    /// RATE_LIMIT and RATE_LIMIT_BURST; every file is read once here so a bad one stops the start.
    func access(_ settings: Settings, sharedToken: String?) throws -> AccessControl.Settings {
        let environment = settings.environment
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        var access = AccessControl.Settings(sharedToken: sharedToken)
        if let path = value("AUTH_TOKENS_FILE") {
            access.tokensFile = path
            do {
                _ = try AccessControl.readTokensFile(path)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        if let issuer = value("AUTH_OIDC_ISSUER") {
            do throws(AccessRefusal) {
                _ = try OIDCVerifier.Settings.checkURL(issuer, what: "AUTH_OIDC_ISSUER")
            } catch {
                throw ValidationError(error.message)
            }
            var oidc = OIDCVerifier.Settings(issuer: issuer)
            oidc.audience = value("AUTH_AUDIENCE") ?? oidc.audience
            for (name, path) in [
                ("AUTH_OIDC_CA_FILE", value("AUTH_OIDC_CA_FILE")), ("AUTH_OIDC_TOKEN_FILE", value("AUTH_OIDC_TOKEN_FILE")),
            ] {
                if let path, !FileManager.default.isReadableFile(atPath: path) {
                    throw ValidationError("\(name)=\(path) cannot be read")
                }
            }
            oidc.caFile = value("AUTH_OIDC_CA_FILE")
            oidc.tokenFile = value("AUTH_OIDC_TOKEN_FILE")
            access.oidc = oidc
        } else if let stray = ["AUTH_AUDIENCE", "AUTH_OIDC_CA_FILE", "AUTH_OIDC_TOKEN_FILE"].first(where: { value($0) != nil }) {
            throw ValidationError("\(stray) is set but AUTH_OIDC_ISSUER is not: set the issuer, or drop \(stray)")
        }
        let burst = try value("RATE_LIMIT_BURST").map { text -> Double in
            guard let burst = Double(text), burst >= 1, burst <= 1e9 else {
                throw ValidationError("RATE_LIMIT_BURST=\(text) must be a number of requests, at least 1")
            }
            return burst
        }
        if let text = value("RATE_LIMIT_HOLD") {
            guard let hold = Duration(text: text), hold >= .zero, hold <= .seconds(60) else {
                throw ValidationError("RATE_LIMIT_HOLD=\(text) must be a duration like 0s, 500ms or 1s, at most 60s")
            }
            access.rateLimitHold = hold
        }
        if let text = value("RATE_LIMIT") {
            guard let limit = RateLimit(text: text, burst: burst) else {
                throw ValidationError("RATE_LIMIT=\(text) must be \(RateLimit.rule)")
            }
            access.rateLimit = limit
        } else if burst != nil {
            throw ValidationError("RATE_LIMIT_BURST needs RATE_LIMIT")
        }
        return access
    }

    /// Flags first, then environment variables, then defaults; every value is checked.
    func resolve(_ environment: [String: String]) throws -> ControlPlaneConfiguration {
        let settings = Settings(environment: environment)
        var configuration = ControlPlaneConfiguration()
        configuration.host = host ?? environment["HOST"] ?? configuration.host
        configuration.port = try settings.number(port, "PORT", configuration.port, in: 1...65535)
        configuration.redisURL = try redisURL ?? settings.secret("REDIS_URL") ?? configuration.redisURL
        configuration.redisPassword = try settings.secret("REDIS_PASSWORD")
        configuration.redisCommandTimeout = try settings.duration(redisTimeout, "REDIS_TIMEOUT", configuration.redisCommandTimeout)
        configuration.keyPrefix = redisKeyPrefix ?? environment["REDIS_KEY_PREFIX"] ?? ""
        configuration.redisSentinels = (redisSentinels ?? environment["REDIS_SENTINELS"]).flatMap { $0.isEmpty ? nil : $0 }
        configuration.redisSentinelMaster = redisSentinelMaster ?? environment["REDIS_SENTINEL_MASTER"] ?? configuration.redisSentinelMaster
        configuration.redisSentinelPassword = try settings.secret("REDIS_SENTINEL_PASSWORD")
        configuration.redisMinReplicas = try settings.number(redisMinReplicas, "REDIS_MIN_REPLICAS", 0, in: 0...64)
        configuration.redisReplicationTimeout = try settings.duration(
            redisReplicationTimeout, "REDIS_REPLICATION_TIMEOUT", configuration.redisReplicationTimeout)
        configuration.redisPrimaryLease = try settings.duration(redisPrimaryLease, "REDIS_PRIMARY_LEASE", configuration.redisPrimaryLease)
        guard configuration.redisPrimaryLease >= .milliseconds(100) else {
            throw ValidationError("REDIS_PRIMARY_LEASE must be at least 100ms (the Sentinels are asked every tenth of it)")
        }
        configuration.authToken = try settings.secret("AUTH_TOKEN")
        configuration.access = try access(settings, sharedToken: configuration.authToken)
        configuration.lease.leaseTTL = try settings.duration(leaseTTL, "LEASE_TTL", configuration.lease.leaseTTL)
        configuration.lease.heartbeatInterval = try settings.duration(
            heartbeatInterval, "HEARTBEAT_INTERVAL", configuration.lease.heartbeatInterval)
        configuration.lease.numberQuarantine = try settings.duration(
            numberQuarantine, "NUMBER_QUARANTINE", configuration.lease.numberQuarantine)
        configuration.lease.partitionCount = try settings.number(partitions, "PARTITIONS", 1024, in: 1...65536)
        configuration.lease.maxWorkers = try settings.number(maxWorkers, "MAX_WORKERS", 1024, in: 1...1024)
        configuration.lease.epsilon = try settings.number(epsilon, "EPSILON", 0.1, in: 0...10)
        configuration.lease.consumerGroupPrefix = consumerGroupPrefix ?? environment["CONSUMER_GROUP_PREFIX"] ?? "inbox"
        guard ConsumerGroup.isValidPrefix(configuration.lease.consumerGroupPrefix) else {
            throw ValidationError("CONSUMER_GROUP_PREFIX: \(ConsumerGroup.prefixRule)")
        }
        guard configuration.lease.heartbeatInterval < configuration.lease.leaseTTL else {
            throw ValidationError("HEARTBEAT_INTERVAL must be shorter than LEASE_TTL")
        }
        configuration.poolSweepInterval = try settings.duration(poolSweepInterval, "POOL_SWEEP_INTERVAL", configuration.poolSweepInterval)
        if let path = (poolsFile ?? environment["POOLS_FILE"]).flatMap({ $0.isEmpty ? nil : $0 }) {
            configuration.poolsFile = path
            configuration.filePools = try PoolsFileWatcher.read(path, defaults: configuration.lease)
        }
        configuration.logLevel = try settings.logLevel(logLevel)
        guard configuration.redisReplicationTimeout < configuration.redisCommandTimeout else {
            throw ValidationError("REDIS_REPLICATION_TIMEOUT must be shorter than REDIS_TIMEOUT (the WAIT runs inside one command)")
        }
        configuration.http = try http.resolve(settings)
        _ = try configuration.redisConfiguration()  // a bad REDIS_URL or REDIS_SENTINELS fails here, with its reason
        return configuration
    }
}
