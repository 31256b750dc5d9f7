import Coordination
import RollcallClient

/// Which partitions this worker may process, as a pure state machine: lease events, claim results
/// and work results go in; the partitions to claim and to work on come out.
///
/// A granted partition is *pending* until its claim commits in Postgres, then *claimed*. A revocation,
/// a lost lease or a fenced claim or write removes it at once. Only claimed partitions are worked.
/// ("Owner" is the layout's word: the number a partition belongs to. A worker claims its grants.)
struct Claims: Sendable, Equatable {
    /// Claimed in Postgres at these grant epochs and processed by the work loop.
    private(set) var claimed: [Partition: Epoch] = [:]
    /// Granted, claim not committed yet (the claim is retried every round until it commits or is fenced).
    private(set) var pending: [Partition: Epoch] = [:]

    /// Applies one lease event.
    mutating func apply(_ event: LeaseEvent) {
        switch event {
        case .granted(let grants):
            for grant in grants {
                if claimed[grant.partition] != grant.epoch { claimed[grant.partition] = nil }
                if claimed[grant.partition] == nil { pending[grant.partition] = grant.epoch }
            }
        case .revoked(let partitions):
            for partition in partitions {
                claimed[partition] = nil
                pending[partition] = nil
            }
        case .leaseLost:
            stopAll()
        case .leaseAcquired, .leaseRegained:
            break
        }
    }

    /// Drops everything (lease lost, shutdown).
    mutating func stopAll() {
        claimed = [:]
        pending = [:]
    }

    /// The claims still to be made, of the grants the lease holds now at the same epoch (`grantedNow`: the
    /// client's grants as of its last answered heartbeat). A grant revoked or re-granted meanwhile is not
    /// claimed even before its event is applied: after a failover, the claims made again are checked
    /// against the control plane's grants this way, not taken from what this worker last claimed.
    func claimsDue(grantedNow: [PartitionGrant]) -> [PartitionGrant] {
        grantedNow.filter { pending[$0.partition] == $0.epoch }
    }

    /// Moves committed claims to claimed and forgets fenced ones; grants revoked meanwhile stay forgotten.
    mutating func record(_ result: ClaimResult) {
        for grant in result.claimed where pending[grant.partition] == grant.epoch {
            pending[grant.partition] = nil
            claimed[grant.partition] = grant.epoch
        }
        for grant in result.fenced where pending[grant.partition] == grant.epoch { pending[grant.partition] = nil }
    }

    /// What to work on now: claimed partitions that the lease still grants at the same epoch.
    func workable(grantedNow: [PartitionGrant]) -> [PartitionGrant] {
        grantedNow.filter { claimed[$0.partition] == $0.epoch }
    }

    /// Stops partitions a newer grant claimed, and claims again (before any more work on them) those
    /// whose claim row PostgreSQL lost.
    mutating func worked(_ result: WorkResult) {
        for grant in result.fenced where claimed[grant.partition] == grant.epoch { claimed[grant.partition] = nil }
        for grant in result.lost where claimed[grant.partition] == grant.epoch {
            claimed[grant.partition] = nil
            pending[grant.partition] = grant.epoch
        }
    }

    /// After a failover (PostgreSQL is on a new timeline): the promoted standby may not have our claims, so
    /// every claimed partition is claimed again before it is worked again.
    mutating func claimAgain() {
        for (partition, epoch) in claimed { pending[partition] = epoch }
        claimed = [:]
    }

    /// Claimed partitions in order.
    var claimedPartitions: [Partition] { claimed.keys.sorted() }
}
