import Coordination
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import ControlPlane

/// The what-if plan: which members it assumes (pure), and that what it answers is what then happens.
struct PlanScenarioTests {
    @Test("scaling up adds the lowest numbers nobody holds; scaling down keeps the lowest; a drain removes one")
    func members() throws {
        let current: [WorkerNumber] = [0, 2, 5]
        #expect(try PlanScenario(workers: "5", drain: nil, maxWorkers: 8).members(current: current, drained: nil) == [0, 1, 2, 3, 5])
        #expect(try PlanScenario(workers: "2", drain: nil, maxWorkers: 8).members(current: current, drained: nil) == [0, 2])
        #expect(try PlanScenario(workers: "3", drain: nil, maxWorkers: 8).members(current: current, drained: nil) == [0, 2, 5])
        #expect(try PlanScenario(workers: "0", drain: nil, maxWorkers: 8).members(current: current, drained: nil) == [])
        #expect(try PlanScenario(workers: nil, drain: "pod-b", maxWorkers: 8).members(current: current, drained: 2) == [0, 5])
    }

    @Test("a query that is not exactly one of workers=0..maxWorkers and drain=NAME is refused with the reason")
    func refusals() {
        let cases: [(String?, String?, ErrorCode)] = [
            (nil, nil, .invalidRequest), ("2", "pod-a", .invalidRequest), ("-1", nil, .invalidCount), ("9", nil, .invalidCount),
            ("two", nil, .invalidCount), ("", nil, .invalidCount), (nil, "Pod_A", .invalidName), (nil, "", .invalidName),
        ]
        for (workers, drain, code) in cases {
            #expect(throws: LeaseRefusal.self, "workers=\(workers ?? "-") drain=\(drain ?? "-")") {
                try PlanScenario(workers: workers, drain: drain, maxWorkers: 8)
            }
            do {
                _ = try PlanScenario(workers: workers, drain: drain, maxWorkers: 8)
            } catch {
                #expect(error.code == code, "workers=\(workers ?? "-") drain=\(drain ?? "-"): \(error.message)")
            }
        }
    }
}

/// Leases of 60 s: the tests compare what a plan said with what then happened, and a lease that
/// expired in between (a loaded machine stalls a test for seconds) would be a membership change of its own.
@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct PlanTests {
    /// Checks that the published layout now is what `plan` said it would be, moves and shares.
    private func expectHappened(_ plan: LayoutPlan, before: PublishedLayout, after: PublishedLayout) {
        #expect(plan.fromVersion == before.version)
        #expect(after.members == plan.members)
        let moved = before.owners.indices.filter { before.owners[$0] != after.owners[$0] }
        #expect(plan.moves.map(\.partition.rawValue) == moved, "the plan names exactly the partitions that moved")
        #expect(plan.moves.allSatisfy { after.owners[$0.partition.rawValue] == $0.to && before.owners[$0.partition.rawValue] == $0.from })
        let counts = Dictionary(grouping: after.owners.compactMap { $0 }, by: { $0 }).mapValues(\.count)
        #expect(plan.shares.map(\.partitions) == plan.shares.map { counts[$0.number] ?? 0 })
        #expect(plan.shares.map(\.partitions).reduce(0, +) == after.partitionCount)
    }

    @Test("?workers=4 beside three workers answers the moves a fourth worker then makes, and changes nothing in Redis")
    func scaleUpIsWhatHappens() async throws {
        let harness = try ControlPlaneHarness(.test(leaseTTL: .seconds(60)))
        try await harness.test { client async throws in
            for name in ["pod-a", "pod-b", "pod-c"] { _ = try await client.beat(name, held: []) }
            try await harness.settled()
            let before = try await harness.store.layout()
            let untouched = try await harness.snapshot()
            let response = try await client.get("/v1/plan?workers=4")
            try #require(response.status == .ok, "\(String(buffer: response.body))")
            let plan = try JSONDecoder().decode(LayoutPlan.self, from: Data(buffer: response.body))
            #expect(try await harness.snapshot() == untouched, "a plan changes nothing")
            #expect(plan.balance == "count" && plan.members == [0, 1, 2, 3])
            #expect(plan.moves.count > 0 && plan.moves.count < 1024 / 2, "about a quarter moves: \(plan.moves.count)")
            #expect(plan.maxOverMean >= 1 && plan.maxOverMean <= 1.1)
            // The same plan from the pool's own route.
            let byPool = try await client.get("/v1/pools/default/plan?workers=4")
            #expect(try JSONDecoder().decode(LayoutPlan.self, from: Data(buffer: byPool.body)) == plan)

            _ = try await client.beat("pod-d", held: [])
            try await harness.settled()
            expectHappened(plan, before: before, after: try await harness.store.layout())
        }
    }

    @Test("?drain=NAME answers the moves its release then makes; an unknown name is 404, a numbers-only pool 400")
    func drainIsWhatHappens() async throws {
        let configuration = try ControlPlaneConfiguration.test(leaseTTL: .seconds(60)).declaring([
            ("default", { _ in }),
            (
                "tags",
                {
                    $0.partitionCount = 0; $0.maxWorkers = 4
                }
            ),
        ])
        let harness = try ControlPlaneHarness(configuration)
        try await harness.test { client async throws in
            for name in ["pod-a", "pod-b", "pod-c"] { _ = try await client.beat(name, held: []) }
            try await harness.settled()
            let before = try await harness.store.layout()
            let response = try await client.get("/v1/plan?drain=pod-b")
            try #require(response.status == .ok, "\(String(buffer: response.body))")
            let plan = try JSONDecoder().decode(LayoutPlan.self, from: Data(buffer: response.body))
            #expect(plan.members == [0, 2])
            #expect(plan.moves.allSatisfy { $0.from == 1 }, "only the drained worker's partitions move")

            let unknown = try await client.get("/v1/plan?drain=pod-z")
            #expect(unknown.status == .notFound && unknown.errorCode == "not_found")
            let numbersOnly = try await client.get("/v1/pools/tags/plan?workers=2")
            #expect(numbersOnly.status == .badRequest && numbersOnly.errorCode == "invalid_request")
            let neither = try await client.get("/v1/plan")
            #expect(neither.status == .badRequest && neither.errorCode == "invalid_request")
            let tooMany = try await client.get("/v1/plan?workers=100000")
            #expect(tooMany.status == .badRequest && tooMany.errorCode == "invalid_count")

            let released = try await client.execute(uri: "/v1/workers/pod-b?instance=i1", method: .delete) { $0 }
            #expect(released.status == .noContent)
            try await harness.settled()
            expectHappened(plan, before: before, after: try await harness.store.layout())
        }
    }

    @Test("?workers=0 leaves every partition unowned: each moves to nobody, no shares, max/mean 0")
    func noWorkers() async throws {
        let harness = try ControlPlaneHarness(.test(leaseTTL: .seconds(60)))
        try await harness.test { client async throws in
            _ = try await client.beat("pod-a", held: [])
            try await harness.settled()
            let plan = try JSONDecoder().decode(LayoutPlan.self, from: Data(buffer: try await client.get("/v1/plan?workers=0").body))
            #expect(plan.members.isEmpty && plan.shares.isEmpty && plan.maxOverMean == 0)
            #expect(plan.moves.count == 1024 && plan.moves.allSatisfy { $0.from == 0 && $0.to == nil })
        }
    }
}
