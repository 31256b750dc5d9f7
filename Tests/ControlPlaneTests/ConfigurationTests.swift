import ArgumentParser
import Foundation
import TestSupport
import Testing

@testable import ControlPlane

struct ConfigurationTests {
    @Test("flags win over environment variables, which win over defaults")
    func precedence() throws {
        let command = try ControlPlaneCommand.parse(["--port", "9000", "--lease-ttl", "500ms"])
        let configuration = try command.resolve([
            "PORT": "7000", "LEASE_TTL": "3s", "HEARTBEAT_INTERVAL": "100ms", "PARTITIONS": "64", "AUTH_TOKEN": "t",
        ])
        #expect(configuration.port == 9000)
        #expect(configuration.lease.leaseTTL == .milliseconds(500))
        #expect(configuration.lease.heartbeatInterval == .milliseconds(100))
        #expect(configuration.lease.partitionCount == 64)
        #expect(configuration.authToken == "t")
        let defaults = try ControlPlaneCommand.parse([]).resolve([:])
        #expect(defaults.port == 8080 && defaults.redisURL == "redis://127.0.0.1:6379" && defaults.lease.leaseTTL == .seconds(10))
        #expect(defaults.lease.maxWorkers == 1024 && defaults.lease.partitionCount == 1024 && defaults.authToken == nil)
        #expect(defaults.poolSweepInterval == .seconds(60) && defaults.pools == .single(defaults.lease))
        #expect(try ControlPlaneCommand.parse([]).resolve(["POOL_SWEEP_INTERVAL": "5m"]).poolSweepInterval == .seconds(300))
        #expect(try defaults.redisConfiguration().primaryLease == .milliseconds(500))
        #expect(try ControlPlaneCommand.parse([]).resolve(["REDIS_PRIMARY_LEASE": "2s"]).redisConfiguration().primaryLease == .seconds(2))
    }

    @Test(
        "bad settings are refused with a message naming the variable",
        arguments: [
            ["PORT": "http"], ["PORT": "0"], ["LEASE_TTL": "ten"], ["LEASE_TTL": "0s"], ["MAX_WORKERS": "2000"], ["PARTITIONS": "0"],
            ["EPSILON": "-1"], ["HEARTBEAT_INTERVAL": "20s"], ["CONSUMER_GROUP_PREFIX": "a b"], ["LOG_LEVEL": "loud"],
            ["POOL_SWEEP_INTERVAL": "soon"], ["POOLS_FILE": "/nonexistent/pools.yaml"], ["REDIS_PRIMARY_LEASE": "20ms"],
        ])
    func refusesBadSettings(environment: [String: String]) throws {
        #expect(throws: (any Error).self) { try ControlPlaneCommand.parse([]).resolve(environment) }
    }

    @Test("durations read 500ms, 2s, 1m and refuse nonsense")
    func durations() {
        #expect(Duration(text: "500ms") == .milliseconds(500))
        #expect(Duration(text: "2s") == .seconds(2))
        #expect(Duration(text: "1m") == .seconds(60))
        #expect(Duration(text: "1.5s") == .milliseconds(1500))
        #expect(Duration(text: "10") == nil)
        #expect(Duration(text: "-1s") == nil)
        #expect(Duration(text: "s") == nil)
    }

    @Test("secrets are read from the files *_FILE names, at start, without the trailing line break")
    func secretsFromFiles() throws {
        let folder = try SecretFolder()
        let environment = [
            "AUTH_TOKEN_FILE": try folder.write("auth-token", "t0k3n\n"),
            "REDIS_URL_FILE": try folder.write("redis-url", "redis://:stale@cache.example:6390/3\r\n"),
            "REDIS_PASSWORD_FILE": try folder.write("redis-password", "s3cret pass"),
            "REDIS_SENTINELS": "s1.example:26379", "REDIS_SENTINEL_PASSWORD_FILE": try folder.write("sentinel", "sent\n\n"),
        ]
        let configuration = try ControlPlaneCommand.parse([]).resolve(environment)
        #expect(configuration.authToken == "t0k3n")
        let redis = try configuration.redisConfiguration()
        #expect(redis.host == "cache.example" && redis.port == 6390 && redis.database == 3)
        #expect(redis.password == "s3cret pass")
        #expect(redis.sentinel?.password == "sent")
    }

    @Test(
        "a secret file that cannot be used is refused with the variable and the reason",
        arguments: [
            (["AUTH_TOKEN": "a", "AUTH_TOKEN_FILE": "token"], "set AUTH_TOKEN or AUTH_TOKEN_FILE, not both"),
            (["AUTH_TOKEN_FILE": "missing"], "AUTH_TOKEN_FILE="), (["REDIS_URL_FILE": "empty"], "REDIS_URL_FILE="),
            (["REDIS_PASSWORD_FILE": "."], "REDIS_PASSWORD_FILE="),
            (["REDIS_SENTINEL_PASSWORD_FILE": "binary"], "REDIS_SENTINEL_PASSWORD_FILE="),
        ])
    func refusesUnusableSecretFiles(environment: [String: String], message: String) throws {
        let folder = try SecretFolder()
        _ = try folder.write("token", "t")
        _ = try folder.write("empty", "\n")
        try Data([0xff, 0xfe, 0x00]).write(to: folder.url.appendingPathComponent("binary"))
        let resolved = environment.mapValues { $0 == "a" ? $0 : folder.url.appendingPathComponent($0).path }
        #expect {
            try ControlPlaneCommand.parse([]).resolve(resolved)
        } throws: { error in
            let text = String(describing: error)
            return text.contains(message) && (environment.values.contains("missing") ? text.contains("No such file") : true)
                && (environment.values.contains("empty") ? text.hasSuffix("is empty") : true)
        }
    }
}

struct AccessConfigurationTests {
    @Test("access settings: the issuer with its options, the rate limit with its burst and hold; each refusal names the variable")
    func access() throws {
        let resolved = try ControlPlaneCommand.parse([]).resolve([
            "AUTH_OIDC_ISSUER": "https://kubernetes.default.svc", "AUTH_AUDIENCE": "inbox", "RATE_LIMIT": "600/m",
            "RATE_LIMIT_BURST": "5", "RATE_LIMIT_HOLD": "250ms",
        ])
        #expect(resolved.access.oidc?.issuer == "https://kubernetes.default.svc" && resolved.access.oidc?.audience == "inbox")
        #expect(resolved.access.rateLimit == RateLimit(rate: 10, burst: 5) && resolved.access.rateLimitHold == .milliseconds(250))
        #expect(resolved.access.requiresCredentials)
        #expect(try ControlPlaneCommand.parse([]).resolve([:]).access.rateLimitHold == .seconds(1))
        for (environment, message) in [
            (["AUTH_OIDC_ISSUER": "http://kubernetes.default.svc"], "must be https"),
            (["AUTH_AUDIENCE": "x"], "AUTH_AUDIENCE is set but AUTH_OIDC_ISSUER is not"),
            (["AUTH_OIDC_ISSUER": "https://k", "AUTH_OIDC_CA_FILE": "/nonexistent"], "AUTH_OIDC_CA_FILE=/nonexistent cannot be read"),
            (["RATE_LIMIT": "fast"], "RATE_LIMIT=fast must be a rate like 20/s"),
            (["RATE_LIMIT_BURST": "5"], "RATE_LIMIT_BURST needs RATE_LIMIT"),
            (["RATE_LIMIT": "5/s", "RATE_LIMIT_BURST": "0"], "RATE_LIMIT_BURST=0 must be a number of requests"),
            (["RATE_LIMIT_HOLD": "2h"], "RATE_LIMIT_HOLD=2h must be a duration"),
            (["AUTH_TOKENS_FILE": "/nonexistent"], "AUTH_TOKENS_FILE=/nonexistent cannot be read"),
        ] {
            do {
                _ = try ControlPlaneCommand.parse([]).resolve(environment)
                Issue.record("\(environment) was accepted")
            } catch {
                #expect("\(error)".contains(message), "\(environment): \(error)")
            }
        }
    }
}
