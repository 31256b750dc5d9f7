import Coordination
import Foundation
import Hummingbird
import HummingbirdTesting
import RedisAdapter
import TestSupport
import Testing

@testable import ControlPlane

/// `balance: load`: load reports stored for the reporter's own grants, load rounds published over the
/// version they were computed from, and every move through the ordinary handoff.
@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct LoadBalanceTests {
    /// `skew`: 64 partitions balanced by load, a round every 200 ms, at most 8 moves a round;
    /// `even`: the same balanced by count.
    static func configuration() throws -> ControlPlaneConfiguration {
        try ControlPlaneConfiguration.test(leaseTTL: .seconds(60)).declaring([
            (
                "skew",
                {
                    $0.partitionCount = 64; $0.maxWorkers = 8; $0.balance = .load; $0.moveBudget = 8
                    $0.loadRoundInterval = .milliseconds(200)
                }
            ),
            (
                "even",
                {
                    $0.partitionCount = 64; $0.maxWorkers = 8
                }
            ),
        ])
    }

    /// One simulated worker: it holds what its heartbeats granted until they revoke it.
    struct Worker {
        let name: String
        var held: [Partition] = []
        var number: WorkerNumber?
    }

    /// A heartbeat of `worker` that reports each held partition's load from `weights`, then takes the answer.
    static func beat(
        _ worker: inout Worker, _ client: any TestClientProtocol, pool: String, weights: [Double]?
    ) async throws {
        let load = weights.map { weights in
            PartitionLoadReport(
                partitions: worker.held, rowsWaiting: worker.held.map { _ in 0 }, rowsPerSecond: worker.held.map { weights[$0.rawValue] })
        }
        let body = String(
            decoding: try JSONEncoder().encode(HeartbeatRequest(instance: "i1", held: worker.held, load: load)), as: UTF8.self)
        let response = try await client.heartbeat(worker.name, pool: pool, body: body)
        try #require(response.status == .ok, "\(worker.name): \(response.status) \(String(buffer: response.body))")
        let answer = try JSONDecoder().decode(HeartbeatResponse.self, from: Data(buffer: response.body))
        worker.number = answer.number
        worker.held = answer.partitions
    }

    /// A worker named `name` alone in `pool`: its first heartbeat takes number 0, and once the layout
    /// for it is published, a second takes every partition.
    static func soleWorker(
        _ name: String, pool: String, _ client: any TestClientProtocol, _ harness: ControlPlaneHarness
    ) async throws -> Worker {
        var worker = Worker(name: name)
        try await beat(&worker, client, pool: pool, weights: nil)
        try await eventually("\(pool)'s first layout", within: .seconds(10)) {
            try await harness.pool(pool).publishedLayout().members == [0]
        }
        try await beat(&worker, client, pool: pool, weights: nil)
        return worker
    }

    /// The largest load a member carries under `owners` over the mean load.
    static func maxOverMean(_ owners: [WorkerNumber?], weights: [Double]) -> Double {
        var loads: [WorkerNumber: Double] = [:]
        for (partition, owner) in owners.enumerated() { if let owner { loads[owner, default: 0] += weights[partition] } }
        let mean = weights.reduce(0, +) / Double(max(loads.count, 1))
        return (loads.values.max() ?? 0) / mean
    }

    @Test("skewed reports move partitions round by round until no worker carries over 1.1 x the mean, never two holders at once")
    func converges() async throws {
        let harness = try ControlPlaneHarness(Self.configuration())
        try await harness.test { client async throws in try await Self.converge(harness, client) }
    }

    static func converge(_ harness: ControlPlaneHarness, _ client: any TestClientProtocol) async throws {
        var workers = ["pod-a", "pod-b", "pod-c", "pod-d"].map { Worker(name: $0) }
        for index in workers.indices { try await Self.beat(&workers[index], client, pool: "skew", weights: nil) }
        let pool = harness.pool("skew")
        try await eventually("the first layout", within: .seconds(10)) {
            try await pool.publishedLayout().members.count == 4
        }
        // Everything pod-a's share holds is ten times as heavy as the rest: the layout the pool
        // starts from carries 40 / 13 = 3.1 x the mean on one worker.
        let first = try await pool.publishedLayout()
        let heavyOwner = try #require(workers[0].number)
        let weights = first.owners.map { $0 == heavyOwner ? 10.0 : 1.0 }
        let before = Self.maxOverMean(first.owners, weights: weights)
        #expect(before > 2, "the skew must unbalance the starting layout for the test to mean anything: \(before)")
        var last = before
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < .seconds(30) {
            for index in workers.indices { try await Self.beat(&workers[index], client, pool: "skew", weights: weights) }
            let held = workers.flatMap(\.held)
            #expect(Set(held).count == held.count, "a partition held by two workers at once: \(workers.map(\.held))")
            let layout = try await pool.publishedLayout()
            last = Self.maxOverMean(layout.owners, weights: weights)
            let settled = workers.allSatisfy { worker in
                Set(worker.held) == Set(layout.owners.indices.filter { layout.owners[$0] == worker.number }.map { Partition($0) })
            }
            if last <= 1.1 && settled { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(last <= 1.1, "max/mean load \(last) after 30 s (from \(before))")
        // The plans of a pool balanced by load run its rounds on the reported loads.
        let stay = try JSONDecoder().decode(LayoutPlan.self, from: Data(buffer: try await client.get("/v1/pools/skew/plan?workers=4").body))
        #expect(stay.balance == "load" && stay.moves.isEmpty && stay.maxOverMean <= 1.1, "\(stay.moves.count) moves, \(stay.maxOverMean)")
        let drained = try #require(workers[1].number)
        let drain = try JSONDecoder().decode(
            LayoutPlan.self, from: Data(buffer: try await client.get("/v1/pools/skew/plan?drain=\(workers[1].name)").body))
        #expect(drain.balance == "load" && !drain.members.contains(drained) && drain.members.count == 3)
        #expect(drain.moves.contains { $0.from == drained } && drain.maxOverMean <= 1.1, "\(drain.maxOverMean)")
        let total = weights.reduce(0, +)
        #expect(abs(drain.shares.compactMap(\.load).reduce(0, +) - total) < 1e-6, "the shares carry the whole load")
        try await eventually("the gauge", within: .seconds(5)) {
            harness.metricsText.split(separator: "\n").contains { line in
                line.hasPrefix(#"rollcall_load_max_over_mean{pool="skew"}"#) && (Double(line.split(separator: " ").last ?? "") ?? 9) <= 1.1
            }
        }
    }

    @Test("a load report is stored for the reporter's own grants only; a pool balanced by count stores none")
    func reportsAreTheReportersOwn() async throws {
        let harness = try ControlPlaneHarness(Self.configuration())
        try await harness.test { client async throws in
            let a = try await Self.soleWorker("pod-a", pool: "skew", client, harness)
            #expect(a.held.count == 64)
            var b = Worker(name: "pod-b")
            try await Self.beat(&b, client, pool: "skew", weights: nil)
            // pod-b claims loads for partitions pod-a holds: none is stored.
            let body = String(
                decoding: try JSONEncoder().encode(
                    HeartbeatRequest(
                        instance: "i1", held: [],
                        load: PartitionLoadReport(partitions: [0, 1, 2], rowsWaiting: [600, 0, 0], rowsPerSecond: [5, 5, 5]))),
                as: UTF8.self)
            #expect(try await client.heartbeat("pod-b", pool: "skew", body: body).status == .ok)
            #expect(try await harness.pool("skew").loads().isEmpty)
            // pod-a reports its own: rows per second plus the backlog over 60 s.
            let own = String(
                decoding: try JSONEncoder().encode(
                    HeartbeatRequest(
                        instance: "i1", held: a.held,
                        load: PartitionLoadReport(partitions: [0, 1], rowsWaiting: [600, 0], rowsPerSecond: [5, 2.5]))),
                as: UTF8.self)
            #expect(try await client.heartbeat("pod-a", pool: "skew", body: own).status == .ok)
            #expect(try await harness.pool("skew").loads() == [0: 15, 1: 2.5])
            // The pool balanced by count ignores the report.
            var c = try await Self.soleWorker("pod-c", pool: "even", client, harness)
            try await Self.beat(&c, client, pool: "even", weights: Array(repeating: 3, count: 64))
            #expect(c.held.count == 64)
            #expect(try await harness.pool("even").loads().isEmpty)
        }
    }

    @Test("a malformed load report is 400 invalid_load, naming what is wrong, and renews nothing")
    func badReports() async throws {
        let harness = try ControlPlaneHarness(Self.configuration())
        try await harness.test { client async throws in
            let bodies = [
                #"{"instance": "i1", "load": {"partitions": [1, 2], "rowsWaiting": [0], "rowsPerSecond": [1, 1]}}"#,
                #"{"instance": "i1", "load": {"partitions": [64], "rowsWaiting": [0], "rowsPerSecond": [1]}}"#,
                #"{"instance": "i1", "load": {"partitions": [3, 3], "rowsWaiting": [0, 0], "rowsPerSecond": [1, 1]}}"#,
                #"{"instance": "i1", "load": {"partitions": [3], "rowsWaiting": [-1], "rowsPerSecond": [1]}}"#,
                #"{"instance": "i1", "load": {"partitions": [3], "rowsWaiting": [0], "rowsPerSecond": [-0.5]}}"#,
                #"{"instance": "i1", "load": {"partitions": [3], "rowsWaiting": [0], "rowsPerSecond": [1e300]}}"#,
            ]
            for body in bodies {
                let response = try await client.heartbeat("pod-a", pool: "skew", body: body)
                #expect(response.status == .badRequest && response.errorCode == "invalid_load", "\(body): \(String(buffer: response.body))")
            }
            let missing = try await client.heartbeat(
                "pod-a", pool: "skew", body: #"{"instance": "i1", "load": {"partitions": [3], "rowsPerSecond": [1]}}"#)
            #expect(missing.status == .badRequest && missing.errorCode == "invalid_body")
            #expect(try await harness.pool("skew").workers().isEmpty, "no lease was made by a refused request")
        }
    }
}
