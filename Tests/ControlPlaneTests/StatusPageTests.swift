import Coordination
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import ControlPlane

@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct StatusPageTests {
    @Test("the overview lists every live lease with its number, the layout beside the grants, and the lease events newest first")
    func overviewOfThreeWorkers() async throws {
        // 60 s leases: the renewals below come after settled(), which a loaded test process took past a 5 s lease.
        let harness = try ControlPlaneHarness(.test(leaseTTL: .seconds(60)))
        try await harness.test { client async throws in
            for name in ["pod-a", "pod-b", "pod-c"] { _ = try await client.beat(name, held: []) }
            try await harness.settled()
            let renewed = ContinuousClock.now
            for name in ["pod-a", "pod-b", "pod-c"] { _ = try await client.beat(name, held: []) }
            let overview = try await client.overview()
            // The time left is the TTL less what passed since the renewals: never more, and no less than
            // what this test's own clock saw pass (plus a millisecond of rounding); no fixed limit.
            let passed = (ContinuousClock.now - renewed).wholeMilliseconds + 1
            #expect(overview.workers.map(\.name) == ["pod-a", "pod-b", "pod-c"])
            #expect(overview.workers.map(\.number) == [0, 1, 2])
            #expect(overview.workers.map(\.consumerGroup) == ["inbox-0", "inbox-1", "inbox-2"])
            #expect(overview.workers.allSatisfy { $0.kind == .member })
            #expect(
                overview.workers.allSatisfy { $0.leaseMillisLeft >= 60_000 - passed && $0.leaseMillisLeft <= 60_000 },
                "\(overview.workers.map(\.leaseMillisLeft)) ms left, \(passed) ms after the renewals (TTL 60,000 ms)")
            #expect(overview.workers.map(\.grantCount).reduce(0, +) == 1024)
            #expect(overview.layout.partitionCount == 1024 && overview.layout.owners.count == 1024)
            #expect(Set(overview.layout.owners.compactMap { $0 }) == [0, 1, 2])
            #expect(overview.layout.holders == overview.layout.owners, "every owner was granted its share")
            #expect(overview.handoffs.pending == 0 && overview.handoffs.unowned == 0 && overview.handoffs.first.isEmpty)
            #expect(overview.leaseTTLMillis == 60_000 && overview.heartbeatIntervalMillis == 1000)
            #expect(overview.redis.recoveryMillisLeft == 0 && overview.redis.generation.isWellFormed && overview.redis.latencyMillis > 0)
            let leased = overview.events.filter { $0.kind == .leased }
            #expect(leased.map(\.name) == ["pod-c", "pod-b", "pod-a"], "newest first")
            #expect(leased.map(\.number) == [2, 1, 0] && leased.allSatisfy { $0.lease == .member && $0.epoch != nil })
            #expect(overview.events.map(\.atMillis) == overview.events.map(\.atMillis).sorted(by: >))
            let published = try #require(overview.events.first { $0.kind == .layout && $0.version == overview.layout.version })
            #expect(published.members == 3)
            let metrics = harness.metricsText
            #expect(metrics.contains("rollcall_rebalancer_leader 1"))
            try await eventually(within: .seconds(10)) { harness.metricsText.contains(#"rollcall_partitions_unowned{pool="default"} 0"#) }
        }
    }

    @Test("a partition revoked from its holder and not yet let go shows as a pending handoff from the holder to the new owner")
    func revokedButHeldIsPending() async throws {
        let harness = try ControlPlaneHarness(.test())
        try await harness.test { client async throws in
            _ = try await client.beat("pod-a", held: [])
            try await harness.settled()
            let all = try await client.beat("pod-a", held: []).partitions
            #expect(all.count == 1024)
            _ = try await client.beat("pod-b", held: [])
            try await harness.settled()
            // pod-a still reports everything held: the new layout's share of pod-b is revoked, not yet released.
            let a = try await client.beat("pod-a", held: all)
            #expect(!a.revoked.isEmpty)
            let overview = try await client.overview()
            #expect(overview.handoffs.pending == a.revoked.count)
            #expect(overview.handoffs.first.count == min(a.revoked.count, 100))
            #expect(overview.handoffs.first.allSatisfy { $0.from == 0 && $0.to == 1 && a.revoked.contains($0.partition) })
            #expect(overview.workers.first { $0.name == "pod-a" }?.revokedHeld == a.revoked.count)
            #expect(overview.workers.first { $0.name == "pod-b" }?.revokedHeld == 0)
            for partition in a.revoked {
                #expect(overview.layout.owners[partition.rawValue] == 1 && overview.layout.holders[partition.rawValue] == 0)
            }
            // Let go, and pod-b is granted them.
            _ = try await client.beat("pod-a", held: a.partitions)
            _ = try await client.beat("pod-b", held: [])
            let after = try await client.overview()
            #expect(after.handoffs.pending == 0 && after.layout.holders == after.layout.owners)
        }
    }

    @Test("a release and an expiry each leave an event naming the worker, and the freed numbers wait in quarantine")
    func releaseAndExpiryEvents() async throws {
        // pod-a's lease must outlive the two requests before its release even on a loaded machine (with a
        // 900 ms TTL a fresh-clone run saw 404: it had expired first), and pod-b's must end soon after.
        var configuration = try ControlPlaneConfiguration.test(leaseTTL: .seconds(3))
        configuration.lease.numberQuarantine = .seconds(30)
        try await ControlPlaneHarness(configuration).test { client async throws in
            // pod-b first: pod-a's lease then only has to outlive the DELETE right after its own beat.
            _ = try await client.beat("pod-b", instance: "ib")
            let a = try await client.beat("pod-a", instance: "ia")
            let release = try await client.execute(uri: "/v1/workers/pod-a?instance=ia", method: .delete) { $0 }
            #expect(release.status == .noContent)
            // pod-b sends nothing more: its lease expires.
            try await eventually("an expiry event", within: .seconds(10)) {
                try await client.overview().events.contains { $0.kind == .expired }
            }
            let overview = try await client.overview()
            #expect(overview.workers.isEmpty)
            let released = try #require(overview.events.first { $0.kind == .released })
            #expect(released.name == "pod-a" && released.number == a.number && released.epoch == a.epoch)
            let expiry = try #require(overview.events.first { $0.kind == .expired })
            #expect(expiry.name == "pod-b" && expiry.number == 0)
            #expect(overview.quarantine.map(\.number).sorted() == [0, 1])
            #expect(overview.quarantine.allSatisfy { $0.millisLeft > 20_000 && $0.millisLeft <= 30_000 })
        }
    }

    @Test("a store that begins recovery records it, and the overview counts the wait down")
    func recoveryEvent() async throws {
        try await ControlPlaneHarness(.test(), settled: false).test { client async throws in
            let response = try await client.heartbeat("pod-a", body: #"{"instance": "i1"}"#)
            #expect(response.errorCode == "recovering")
            let overview = try await client.overview()
            #expect(overview.redis.recoveryMillisLeft > 0 && overview.redis.recoveryMillisLeft <= 5000)
            #expect(overview.events.contains { $0.kind == .recovery && $0.until != nil })
        }
    }

    @Test("/_status is one HTML document that loads nothing from elsewhere, and no worker name can take its path")
    func statusPageIsSelfContained() async throws {
        #expect(WorkerName(rawValue: "_status") == nil)
        try await ControlPlaneHarness(.test()).test { client async throws in
            let page = try await client.get("/_status")
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            let policy = try #require(page.headers[.contentSecurityPolicy])
            #expect(policy.contains("default-src 'none'") && policy.contains("connect-src 'self'"))
            let html = String(buffer: page.body)
            #expect(
                html.hasPrefix("<!doctype html>") && html.contains("/v1/pools/${encodeURIComponent(pool)}/overview")
                    && html.contains(#"get("/v1/pools")"#))
            // The SVG namespace is a name, not a fetch; nothing else names another origin.
            let origins = html.ranges(of: /https?:\/\/[^"'`\s)]*/).map { String(html[$0]) }
            #expect(origins.allSatisfy { $0 == "http://www.w3.org/2000/svg" }, "\(origins)")
            #expect(!html.contains("<link") && !html.contains("src="))
            // A worker named like the page's path without the underscore is still a worker.
            let status = try await client.get("/status")
            #expect(status.status == .ok && String(buffer: status.body) == "0\n")
        }
    }

    @Test("with AUTH_TOKEN set, the page and its data need the token, as a bearer or as the Basic password a browser sends")
    func statusPageNeedsTheToken() async throws {
        var configuration = try ControlPlaneConfiguration.test()
        configuration.authToken = "s3cret-token"
        try await ControlPlaneHarness(configuration).test { client async throws in
            let refused = try await client.get("/_status")
            #expect(refused.status == .unauthorized && refused.errorCode == "unauthorized")
            // One challenge per field, Basic first: a browser prompts for the first scheme it knows.
            #expect(
                refused.headers[values: .wwwAuthenticate] == [#"Basic realm="rollcall", charset="UTF-8""#, #"Bearer realm="rollcall""#])
            #expect(!String(buffer: refused.body).contains("<html"))
            func basic(_ credentials: String) -> HTTPFields { [.authorization: "Basic " + Data(credentials.utf8).base64EncodedString()] }
            #expect(try await client.get("/_status", headers: basic("operator:s3cret-token")).status == .ok)
            #expect(try await client.get("/_status", headers: basic(":s3cret-token")).status == .ok)
            #expect(try await client.get("/_status", headers: basic("s3cret-token:wrong")).status == .unauthorized)
            #expect(try await client.get("/_status", headers: basic("no colon")).status == .unauthorized)
            #expect(try await client.get("/_status", headers: [.authorization: "Basic %%%"]).status == .unauthorized)
            #expect(try await client.get("/v1/overview").status == .unauthorized)
            #expect(try await client.get("/v1/overview", headers: basic("operator:s3cret-token")).status == .ok)
            #expect(try await client.get("/v1/overview", headers: [.authorization: "Bearer s3cret-token"]).status == .ok)
        }
    }
}

extension TestClientProtocol {
    /// `GET /v1/overview`, decoded; fails the test on anything but 200.
    func overview() async throws -> Overview {
        let response = try await get("/v1/overview")
        try #require(response.status == .ok, "overview: \(response.status) \(String(buffer: response.body))")
        return try JSONDecoder().decode(Overview.self, from: Data(buffer: response.body))
    }
}
