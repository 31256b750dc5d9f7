import Coordination
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import RedisAdapter
import TestSupport
import Testing

@testable import ControlPlane

/// A control plane on the test Redis with keys of its own (a random prefix) and test-sized timings.
///
/// By default a test starts on an installation that has run for longer than a lease TTL plus the
/// quarantine (`settleInstall`); with `settled: false` it starts on the store as it is (empty, wiped),
/// which makes the control plane wait out recovery first.
struct ControlPlaneHarness {
    let app: ControlPlaneApp
    let settled: Bool
    /// The `default` pool's lease service (the routes without a pool).
    var leases: LeaseService { app.pools.existing(.default)! }
    var store: LeaseStore { leases.store }
    /// The keys outside every pool: the leader lease and the pool schedule.
    var controlKeys: ControlKeys { ControlKeys(prefix: app.configuration.keyPrefix) }

    init(_ configuration: ControlPlaneConfiguration, settled: Bool = true) throws {
        var logger = Logger(label: "test.control-plane")
        logger.logLevel = .warning
        app = try ControlPlaneApp(configuration: configuration, logger: logger)
        self.settled = settled
    }

    /// What the store is like once the installation has run longer than a lease TTL plus the quarantine:
    /// its generation written, and the recovery every new generation begins with over.
    func settleInstall() async throws {
        guard settled else { return }
        for pool in app.pools.declared {
            _ = try await pool.reap()
            _ = try await app.redis.command(["DEL", pool.store.keys[.recovery]], retry: .never)
        }
    }

    /// Runs `body` with a client for the router (no socket), with the reaper and rebalancer running.
    func test<T: Sendable>(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        do {
            let result = try await app.application().test(.router) { client in
                try await settleInstall()
                return try await body(client)
            }
            await app.redis.shutdown()
            await app.access.shutdown()
            return result
        } catch {
            await app.redis.shutdown()
            await app.access.shutdown()
            throw error
        }
    }

    /// Runs `body` with the port of a live server (a real socket) for this control plane.
    func testLive<T: Sendable>(_ body: @escaping @Sendable (Int) async throws -> T) async throws -> T {
        do {
            let result = try await app.application().test(.live) { client in
                try await settleInstall()
                return try await body(try #require(client.port))
            }
            await app.redis.shutdown()
            await app.access.shutdown()
            return result
        } catch {
            await app.redis.shutdown()
            await app.access.shutdown()
            throw error
        }
    }

    /// Waits until the rebalancer has published the layout for the current membership, so no
    /// background publication can change Redis between two snapshots.
    func settled() async throws {
        try await eventually("the rebalancer published the layout for the current members", within: .seconds(10)) {
            let layout = try await store.layout()
            let members = try await leases.members().numbers
            return layout.version > 0 && layout.members == members
        }
    }

    /// Every key of this control plane with its type and value, to show that a request changed nothing.
    /// A hash's fields are sorted by name: Redis keeps no order, and in one fresh clone's run the layout
    /// hash came back with the same fields and values in another order (rewritten in the background while
    /// the request under test was refused).
    /// Call `settled()` first.
    func snapshot() async throws -> [String: RedisValue] {
        var result: [String: RedisValue] = [:]
        for key in store.keys.all {
            switch try await app.redis.command(["TYPE", key], retry: .never).string {
            case "hash":
                let flat = try await app.redis.command(["HGETALL", key], retry: .never).array ?? []
                let pairs = stride(from: 0, to: flat.count - 1, by: 2).map { (flat[$0], flat[$0 + 1]) }
                result[key] = .array(pairs.sorted { ($0.0.string ?? "") < ($1.0.string ?? "") }.flatMap { [$0.0, $0.1] })
            case "zset": result[key] = try await app.redis.command(["ZRANGE", key, "0", "-1", "WITHSCORES"], retry: .never)
            case "string": result[key] = try await app.redis.command(["GET", key], retry: .never)
            default: break
            }
        }
        return result
    }
}

extension ControlPlaneHarness {
    /// Runs the heartbeat script alone (no HTTP, no reaper), as a replica would.
    func heartbeat(_ name: String, instance: InstanceID, held: [Partition] = []) async throws -> HeartbeatScript.Reply {
        try await store.run(HeartbeatScript(name: WorkerName(rawValue: name)!, instance: instance, held: held, settings: leases.settings))
    }

    /// The lease service of the declared pool `name`.
    func pool(_ name: String) -> LeaseService { app.pools.existing(PoolName(rawValue: name)!)! }

    /// The Prometheus text of this control plane's metrics.
    var metricsText: String { app.metrics.exposition() }
}

extension ControlPlaneConfiguration {
    /// This configuration with `pools` declared (as POOLS_FILE would), each from the test settings
    /// changed by its closure.
    func declaring(_ pools: [(String, (inout LeaseSettings) -> Void)], autoCreate: PoolDeclarations.AutoCreate? = nil) -> Self {
        var configuration = self
        configuration.filePools = PoolDeclarations(
            pools: pools.map { name, change in
                var settings = lease
                settings.consumerGroupPrefix = name
                change(&settings)
                return .init(name: PoolName(rawValue: name)!, settings: settings)
            }, autoCreate: autoCreate)
        return configuration
    }
}

extension TestClientProtocol {
    /// POSTs a heartbeat with a raw body.
    func heartbeat(_ name: String, body: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: "/v1/workers/\(name)/heartbeat", method: .post, headers: headers, body: ByteBuffer(string: body)) { $0 }
    }

    /// POSTs a heartbeat to the routes of `pool` (nil: the routes without a pool).
    func heartbeat(_ name: String, pool: String?, body: String) async throws -> TestResponse {
        let path = pool.map { "/v1/pools/\($0)/workers/\(name)/heartbeat" } ?? "/v1/workers/\(name)/heartbeat"
        return try await execute(uri: path, method: .post, headers: [:], body: ByteBuffer(string: body)) { $0 }
    }

    /// POSTs a heartbeat and decodes the grant; fails the test on anything but 200.
    func beat(_ name: String, pool: String? = nil, instance: InstanceID = "i1", held: [Partition]? = nil) async throws -> HeartbeatResponse
    {
        let body = String(decoding: try JSONEncoder().encode(HeartbeatRequest(instance: instance, held: held)), as: UTF8.self)
        let response = try await heartbeat(name, pool: pool, body: body)
        try #require(response.status == .ok, "heartbeat of \(name): \(response.status) \(String(buffer: response.body))")
        return try JSONDecoder().decode(HeartbeatResponse.self, from: Data(buffer: response.body))
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: headers) { $0 }
    }
}

extension TestResponse {
    /// The JSON error body's code, or nil if the body is not one.
    var errorCode: String? { try? JSONDecoder().decode(ErrorBody.self, from: Data(buffer: body)).error }
}

extension ControlPlaneConfiguration {
    /// The test Redis (or `redisURL`), keys under a random prefix, test-sized timings.
    /// A sub-second `leaseTTL` (for tests of expiry) also gets a heartbeat interval of a third of it.
    static func test(
        redisURL: String? = nil, leaseTTL: Duration = .seconds(5), prefix: String = "t\(UUID().uuidString.prefix(8)):"
    ) throws -> ControlPlaneConfiguration {
        var configuration = ControlPlaneConfiguration()
        configuration.redisURL = try redisURL ?? TestServers.requireRedisURL()
        configuration.keyPrefix = prefix
        configuration.lease.leaseTTL = leaseTTL
        if leaseTTL <= .seconds(1) { configuration.lease.heartbeatInterval = leaseTTL / 3 }
        configuration.lease.numberQuarantine = .milliseconds(300)
        configuration.rebalanceInterval = .milliseconds(50)
        configuration.leaderLease = .seconds(1)
        configuration.redisCommandTimeout = .milliseconds(500)
        return configuration
    }
}
