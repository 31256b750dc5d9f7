import Coordination
import Testing

@testable import Worker

struct OwnershipTests {
    func grant(_ partition: Int, _ epoch: Int64) -> PartitionGrant { PartitionGrant(partition: partition, epoch: Epoch(rawValue: epoch)) }

    @Test("a granted partition is worked only after its claim commits")
    func claimBeforeWork() {
        var ownership = Ownership()
        ownership.apply(.granted([grant(3, 10), grant(5, 10)]))
        #expect(ownership.claimsDue == [grant(3, 10), grant(5, 10)])
        #expect(ownership.workable(grantedNow: [grant(3, 10), grant(5, 10)]).isEmpty)
        ownership.claimed(ClaimResult(claimed: [grant(3, 10)], fenced: [grant(5, 10)]))
        #expect(ownership.workable(grantedNow: [grant(3, 10), grant(5, 10)]) == [grant(3, 10)])
        #expect(ownership.claimsDue.isEmpty, "a fenced claim is not retried")
    }

    @Test("a revocation stops a partition at once, also one whose claim is still in flight")
    func revokeStops() {
        var ownership = Ownership()
        ownership.apply(.granted([grant(1, 7), grant(2, 7)]))
        ownership.claimed(ClaimResult(claimed: [grant(1, 7)], fenced: []))
        ownership.apply(.revoked([1, 2]))
        ownership.claimed(ClaimResult(claimed: [grant(2, 7)], fenced: []))  // the claim that was in flight
        #expect(ownership.owned.isEmpty)
        #expect(ownership.workable(grantedNow: [grant(1, 7), grant(2, 7)]).isEmpty)
    }

    @Test("a lost lease stops everything")
    func leaseLost() {
        var ownership = Ownership()
        ownership.apply(.granted([grant(1, 7)]))
        ownership.claimed(ClaimResult(claimed: [grant(1, 7)], fenced: []))
        ownership.apply(.leaseLost(.expired))
        #expect(ownership == Ownership())
    }

    @Test("a zero-row ownership check stops that partition and keeps the others")
    func fencedWrite() {
        var ownership = Ownership()
        ownership.apply(.granted([grant(1, 7), grant(2, 7)]))
        ownership.claimed(ClaimResult(claimed: [grant(1, 7), grant(2, 7)], fenced: []))
        ownership.worked(WorkResult(worked: [grant(2, 7)], fenced: [grant(1, 7)], rowsTouched: 3, sampleIDs: []))
        #expect(ownership.ownedPartitions == [2])
    }

    @Test("a partition the lease no longer grants at the same epoch is not worked")
    func workOnlyCurrentGrants() {
        var ownership = Ownership()
        ownership.apply(.granted([grant(1, 7), grant(2, 7)]))
        ownership.claimed(ClaimResult(claimed: [grant(1, 7), grant(2, 7)], fenced: []))
        #expect(ownership.workable(grantedNow: [grant(1, 7), grant(2, 9)]) == [grant(1, 7)])
        ownership.apply(.granted([grant(2, 9)]))
        #expect(ownership.claimsDue == [grant(2, 9)], "a re-grant under a new epoch is claimed again")
    }

    @Test("the id summary lists up to 20 ids and counts the rest")
    func summary() {
        let ids = (0..<20).map { "id\($0)" }
        #expect(PartitionWorker.summary(WorkResult(worked: [], fenced: [], rowsTouched: 3, sampleIDs: ["a", "b", "c"])) == "a b c")
        #expect(PartitionWorker.summary(WorkResult(worked: [], fenced: [], rowsTouched: 25, sampleIDs: ids)).hasSuffix("id19 … and 5 more"))
    }
}
