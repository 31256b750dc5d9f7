import Coordination
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import ControlPlane

/// The fleet size a pool's backlog needs: `GET .../fleet` and `rollcall_desired_workers`.
@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct FleetTests {
    /// `sized`: 16 partitions balanced by count with a target of 50 per worker and at most 6 workers;
    /// `plain`: the same with no target; `default` for the route without a pool.
    static func configuration() throws -> ControlPlaneConfiguration {
        try ControlPlaneConfiguration.test(leaseTTL: .seconds(60)).declaring([
            (
                "sized",
                {
                    $0.partitionCount = 16; $0.maxWorkers = 6; $0.targetLoadPerWorker = 50; $0.loadRoundInterval = .milliseconds(200)
                }
            ),
            (
                "plain",
                {
                    $0.partitionCount = 16; $0.maxWorkers = 6
                }
            ),
            ("default", { $0.partitionCount = 16 }),
        ])
    }

    static func fleet(_ client: any TestClientProtocol, _ path: String) async throws -> FleetSize {
        let response = try await client.get(path)
        try #require(response.status == .ok, "\(path): \(response.status) \(String(buffer: response.body))")
        return try JSONDecoder().decode(FleetSize.self, from: Data(buffer: response.body))
    }

    @Test(
        "a count pool with a target stores its worker's reports, answers ceil(load / target) capped at maxWorkers, and the leader exports it"
    )
    func desiredWorkers() async throws {
        let harness = try ControlPlaneHarness(Self.configuration())
        try await harness.test { client async throws in
            var worker = try await LoadBalanceTests.soleWorker("pod-a", pool: "sized", client, harness)
            #expect(worker.held.count == 16)
            // 16 partitions at 10 rows/s each: 160, four workers of 50.
            try await LoadBalanceTests.beat(&worker, client, pool: "sized", weights: Array(repeating: 10, count: 16))
            var fleet = try await Self.fleet(client, "/v1/pools/sized/fleet")
            #expect(fleet.load == 160 && fleet.reportedPartitions == 16 && fleet.targetLoadPerWorker == 50)
            #expect(fleet.desiredWorkers == 4 && fleet.liveWorkers == 1 && fleet.maxWorkers == 6)
            try await eventually("the gauge", within: .seconds(5)) {
                harness.metricsText.contains(#"rollcall_desired_workers{pool="sized"} 4"#)
            }
            // A backlog the fleet cannot drain: 600 rows waiting per partition is 10 rows/s more each
            // (backlogSeconds 60), and 320 asks for 7, capped at 6.
            let backlog = HeartbeatRequest(
                instance: "i1", held: worker.held,
                load: PartitionLoadReport(
                    partitions: worker.held, rowsWaiting: worker.held.map { _ in 600 }, rowsPerSecond: worker.held.map { _ in 10 }))
            let body = String(decoding: try JSONEncoder().encode(backlog), as: UTF8.self)
            #expect(try await client.heartbeat("pod-a", pool: "sized", body: body).status == .ok)
            fleet = try await Self.fleet(client, "/v1/pools/sized/fleet")
            #expect(fleet.load == 320 && fleet.desiredWorkers == 6)
            try await eventually("the gauge at the cap", within: .seconds(5)) {
                harness.metricsText.contains(#"rollcall_desired_workers{pool="sized"} 6"#)
            }
            // An idle inbox needs no worker (the autoscaler's minimum keeps one).
            try await LoadBalanceTests.beat(&worker, client, pool: "sized", weights: Array(repeating: 0, count: 16))
            #expect(try await Self.fleet(client, "/v1/pools/sized/fleet").desiredWorkers == 0)
        }
    }

    @Test("a pool with no target stores no reports and answers no desired count; an unknown pool is 404")
    func noTarget() async throws {
        let harness = try ControlPlaneHarness(Self.configuration())
        try await harness.test { client async throws in
            var worker = try await LoadBalanceTests.soleWorker("pod-a", pool: "plain", client, harness)
            try await LoadBalanceTests.beat(&worker, client, pool: "plain", weights: Array(repeating: 10, count: 16))
            let fleet = try await Self.fleet(client, "/v1/pools/plain/fleet")
            #expect(fleet.load == 0 && fleet.reportedPartitions == 0 && fleet.desiredWorkers == nil && fleet.targetLoadPerWorker == nil)
            let body = String(buffer: try await client.get("/v1/pools/plain/fleet").body)
            #expect(!body.contains("desiredWorkers"), "absent, not null: \(body)")
            let unknown = try await client.get("/v1/pools/nosuch/fleet")
            #expect(unknown.status == .notFound && unknown.errorCode == "unknown_pool")
            #expect(try await Self.fleet(client, "/v1/fleet").pool == .default)
        }
    }

    @Test("the desired count is ceil(load / target), 0 with no load, never above maxWorkers")
    func arithmetic() {
        #expect(FleetSize.desiredWorkers(load: 0, targetLoadPerWorker: 50, maxWorkers: 8) == 0)
        #expect(FleetSize.desiredWorkers(load: 0.001, targetLoadPerWorker: 50, maxWorkers: 8) == 1)
        #expect(FleetSize.desiredWorkers(load: 100, targetLoadPerWorker: 50, maxWorkers: 8) == 2)
        #expect(FleetSize.desiredWorkers(load: 100.5, targetLoadPerWorker: 50, maxWorkers: 8) == 3)
        #expect(FleetSize.desiredWorkers(load: 1e300, targetLoadPerWorker: 0.001, maxWorkers: 8) == 8)
    }
}
