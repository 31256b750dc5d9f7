import Foundation
import Logging
import NIOPosix
import Partitioning
import ServiceLifecycle

/// Recomputes and publishes the layout on every membership change, on exactly one replica at a time.
///
/// The leader holds a lease in Redis (a random token under `rollcall:leader` with a TTL on Redis's
/// clock) and renews it every round; when it lapses another replica takes over. Publishing checks the
/// token and the membership version in the same script, so a deposed or late leader publishes nothing.
/// The handoff itself (revoke first, grant after release) happens in the heartbeat script.
struct Rebalancer: Service {
    let leases: LeaseService
    let interval: Duration
    let leaderLease: Duration
    let logger: Logger
    let token = UUID().uuidString
    /// How often the leader refreshes `rollcall_handoffs_pending`: it reads every grant (`partitionCount`
    /// fields, with HSCAN), far too much to repeat every round at 32,768 partitions, and a gauge scraped
    /// every few seconds needs no fresher value.
    static let handoffGaugePeriod: Duration = .seconds(1)

    func run() async throws {
        var published: (membership: Int64, owners: [Int?])? = nil
        var wasLeader = false
        var nextHandoffGauge = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let leads = try await leases.lead(token: token, lease: leaderLease)
                if leads != wasLeader {
                    logger.info(leads ? "leading the rebalancer" : "no longer leading the rebalancer")
                    wasLeader = leads
                    if leads { published = nil }
                }
                if leads { published = try await round(after: published) }
                if leads, let owners = published?.owners, ContinuousClock.now >= nextHandoffGauge {
                    try await leases.recordPendingHandoffs(owners: owners)
                    nextHandoffGauge = ContinuousClock.now + Self.handoffGaugePeriod
                }
            } catch {
                logger.warning("rebalancer could not reach Redis", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// One leader round: publish if the membership moved on.
    private func round(after published: (membership: Int64, owners: [Int?])?) async throws -> (membership: Int64, owners: [Int?])? {
        let members = try await leases.members()
        var current = published
        if current?.membership != members.membership {
            // Movement is counted against what this leader published last, else what is in Redis.
            let stored = current == nil ? try await leases.publishedLayout() : nil
            let previous = current?.owners ?? stored?.owners.map { $0?.rawValue } ?? []
            // On NIO's thread pool, not Swift's cooperative pool (one thread per core, which runs every
            // request): at 32,768 partitions the layout takes a tenth of a second of CPU.
            let (numbers, partitionCount, epsilon) = (
                members.numbers.map(\.rawValue), leases.settings.partitionCount, leases.settings.epsilon
            )
            let layout = try await NIOThreadPool.singleton.runIfActive {
                try Layout(members: numbers, partitionCount: partitionCount, epsilon: epsilon)
            }
            // A leader that just took the lease (or took it back after a stall) may find in Redis exactly
            // the layout it would publish: publishing it again would only bump the version, an event and
            // every replica's view of "a new layout". It adopts it instead.
            if let stored, stored.members.map(\.rawValue) == numbers, previous == layout.owners {
                return (members.membership, layout.owners)
            }
            let publication = try await leases.publish(layout, membership: members.membership, token: token, replacing: previous)
            guard case .published(let version, let moved) = publication else { return published }
            logger.info(
                "published layout", metadata: ["version": "\(version)", "members": "\(members.numbers.count)", "moved": "\(moved)"])
            current = (members.membership, layout.owners)
        }
        return current
    }
}
