import Coordination
import Testing

@testable import Worker

struct ClaimsTests {
    func grant(_ partition: Partition, _ epoch: Int64) -> PartitionGrant {
        PartitionGrant(partition: partition, epoch: Epoch(rawValue: epoch))
    }

    @Test("a granted partition is worked only after its claim commits")
    func claimBeforeWork() {
        var claims = Claims()
        claims.apply(.granted([grant(3, 10), grant(5, 10)]))
        #expect(claims.claimsDue(grantedNow: [grant(3, 10), grant(5, 10)]) == [grant(3, 10), grant(5, 10)])
        #expect(claims.workable(grantedNow: [grant(3, 10), grant(5, 10)]).isEmpty)
        claims.record(ClaimResult(claimed: [grant(3, 10)], fenced: [grant(5, 10)]))
        #expect(claims.workable(grantedNow: [grant(3, 10), grant(5, 10)]) == [grant(3, 10)])
        #expect(claims.claimsDue(grantedNow: [grant(3, 10), grant(5, 10)]).isEmpty, "a fenced claim is not retried")
    }

    @Test("a revocation stops a partition at once, also one whose claim is still in flight")
    func revokeStops() {
        var claims = Claims()
        claims.apply(.granted([grant(1, 7), grant(2, 7)]))
        claims.record(ClaimResult(claimed: [grant(1, 7)], fenced: []))
        claims.apply(.revoked([1, 2]))
        claims.record(ClaimResult(claimed: [grant(2, 7)], fenced: []))  // the claim that was in flight
        #expect(claims.claimed.isEmpty)
        #expect(claims.workable(grantedNow: [grant(1, 7), grant(2, 7)]).isEmpty)
    }

    @Test("a lost lease stops everything")
    func leaseLost() {
        var claims = Claims()
        claims.apply(.granted([grant(1, 7)]))
        claims.record(ClaimResult(claimed: [grant(1, 7)], fenced: []))
        claims.apply(.leaseLost(.expired))
        #expect(claims == Claims())
    }

    @Test("a zero-row claim check stops that partition and keeps the others")
    func fencedWrite() {
        var claims = Claims()
        claims.apply(.granted([grant(1, 7), grant(2, 7)]))
        claims.record(ClaimResult(claimed: [grant(1, 7), grant(2, 7)], fenced: []))
        claims.worked(WorkResult(worked: [grant(2, 7)], fenced: [grant(1, 7)], rowsTouched: 3, sampleIDs: []))
        #expect(claims.claimedPartitions == [2])
    }

    @Test("a lost claim goes back to pending: claimed again before it is worked again; a fenced one is dropped")
    func lostClaim() {
        var claims = Claims()
        claims.apply(.granted([grant(1, 7), grant(2, 7), grant(3, 7)]))
        claims.record(ClaimResult(claimed: [grant(1, 7), grant(2, 7), grant(3, 7)], fenced: []))
        claims.worked(WorkResult(worked: [grant(3, 7)], fenced: [grant(1, 7)], lost: [grant(2, 7)], rowsTouched: 1, sampleIDs: []))
        #expect(claims.claimedPartitions == [3])
        #expect(claims.claimsDue(grantedNow: [grant(2, 7), grant(3, 7)]) == [grant(2, 7)])
        #expect(claims.workable(grantedNow: [grant(2, 7), grant(3, 7)]) == [grant(3, 7)])
    }

    @Test("a partition the lease no longer grants at the same epoch is not worked")
    func workOnlyCurrentGrants() {
        var claims = Claims()
        claims.apply(.granted([grant(1, 7), grant(2, 7)]))
        claims.record(ClaimResult(claimed: [grant(1, 7), grant(2, 7)], fenced: []))
        #expect(claims.workable(grantedNow: [grant(1, 7), grant(2, 9)]) == [grant(1, 7)])
        claims.apply(.granted([grant(2, 9)]))
        #expect(claims.claimsDue(grantedNow: [grant(1, 7), grant(2, 9)]) == [grant(2, 9)], "a re-grant under a new epoch is claimed again")
    }

    @Test("after a failover only the grants the lease holds now are claimed again, even before a revocation's event is applied")
    func claimAgainOnlyCurrentGrants() {
        var claims = Claims()
        claims.apply(.granted([grant(1, 7), grant(2, 7), grant(3, 7)]))
        claims.record(ClaimResult(claimed: [grant(1, 7), grant(2, 7), grant(3, 7)], fenced: []))
        claims.claimAgain()
        // The client's last heartbeat revoked 2 and re-granted 3 under a new epoch; neither event is applied yet.
        let now = [grant(1, 7), grant(3, 8)]
        #expect(claims.claimsDue(grantedNow: now) == [grant(1, 7)])
        #expect(claims.workable(grantedNow: now).isEmpty, "nothing is worked before it is claimed again")
        claims.apply(.revoked([2]))
        claims.apply(.granted([grant(3, 8)]))
        #expect(claims.claimsDue(grantedNow: now) == [grant(1, 7), grant(3, 8)])
    }

    @Test("the id summary lists up to 20 ids and counts the rest")
    func summary() {
        let ids = (0..<20).map { "id\($0)" }
        #expect(PartitionWorker.summary(WorkResult(worked: [], fenced: [], rowsTouched: 3, sampleIDs: ["a", "b", "c"])) == "a b c")
        #expect(PartitionWorker.summary(WorkResult(worked: [], fenced: [], rowsTouched: 25, sampleIDs: ids)).hasSuffix("id19 … and 5 more"))
    }
}
