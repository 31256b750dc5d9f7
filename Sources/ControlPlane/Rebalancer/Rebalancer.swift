import Foundation
import HashRing
import Logging
import RedisAdapter
import ServiceLifecycle

/// Recomputes and publishes the assignment on every membership change, on exactly one replica at a time.
///
/// The leader holds a lease in Redis (a random token under `rollcall:leader` with a TTL on Redis's
/// clock) and renews it every round; when it lapses another replica takes over. Publishing checks the
/// token and the membership version in the same script, so a deposed or late leader publishes nothing.
/// The handoff itself (revoke first, grant after release) happens in the heartbeat script.
struct Rebalancer: Service {
    let store: LeaseStore
    let interval: Duration
    let leaderLease: Duration
    let logger: Logger
    let token = UUID().uuidString

    func run() async throws {
        var published: (membership: Int64, owners: [Int?])? = nil
        var wasLeader = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let leads = try await store.lead(token: token, lease: leaderLease)
                if leads != wasLeader {
                    logger.info(leads ? "leading the rebalancer" : "no longer leading the rebalancer")
                    wasLeader = leads
                    if leads { published = nil }
                }
                if leads { published = try await round(after: published) }
            } catch {
                logger.warning("rebalancer could not reach Redis", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// One leader round: publish if the membership moved on, then refresh the handoff gauge.
    private func round(after published: (membership: Int64, owners: [Int?])?) async throws -> (membership: Int64, owners: [Int?])? {
        let (membership, numbers) = try await store.members()
        var current = published
        if current?.membership != membership {
            // Movement is counted against what this leader published last, else what is in Redis.
            let previous: [Int?]
            if let owners = current?.owners { previous = owners } else { previous = try await store.assignment().owners }
            let ring = try Ring(members: numbers, partitionCount: store.settings.partitionCount, epsilon: store.settings.epsilon)
            switch try await store.publish(ring, membershipVersion: membership, token: token) {
            case .published(let version):
                let moved = AssignmentDiff(from: previous, to: ring.owners).movedCount
                store.metrics.partitionsMoved.increment(by: Int64(moved))
                store.metrics.assignmentVersion.record(version)
                logger.info(
                    "published assignment",
                    metadata: ["version": "\(version)", "members": "\(numbers.count)", "moved": "\(moved)"])
                current = (membership, ring.owners)
            case .stale, .notLeader:
                return published
            }
        }
        if let owners = current?.owners { store.metrics.handoffsPending.record(try await store.pendingHandoffs(owners: owners)) }
        return current
    }
}
