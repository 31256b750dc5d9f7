import Coordination
import Logging
import PostgresAdapter
import ServiceLifecycle
import Synchronization

/// The worker's loops as one `Service`: the client's heartbeats, the lease events (claims), and the work
/// loop. On graceful shutdown it stops work first (the transaction in flight finishes), then releases
/// the lease, so the control plane can hand the partitions on at once.
final class PartitionWorker: Service, Sendable {
    let client: RollcallClient
    let store: WorkStore
    let configuration: WorkerConfiguration
    let metrics: WorkerMetrics
    let logger: Logger
    private let ownership = Mutex(Ownership())

    init(client: RollcallClient, store: WorkStore, configuration: WorkerConfiguration, metrics: WorkerMetrics, logger: Logger) {
        self.client = client
        self.store = store
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    /// Owned partitions, for /v1/status.
    var ownedPartitions: [Int] { ownership.withLock { $0.ownedPartitions } }

    func run() async throws {
        let heartbeats = Task { try? await client.heartbeatLoop() }
        let events = Task { await followLeaseEvents() }
        let work = Task { await workLoop() }
        // Wait for SIGTERM/SIGINT (or cancellation); then shut down in order.
        try? await gracefulShutdown()
        work.cancel()
        await work.value
        ownership.withLock { $0.stopAll() }
        heartbeats.cancel()
        await heartbeats.value
        let released = await client.release()
        await events.value
        metrics.partitionsOwned.record(0)
        logger.info("worker stopped", metadata: ["released": "\(released)"])
    }

    /// Applies every lease event; a grant is claimed at once, so a handoff waits for no work round.
    private func followLeaseEvents() async {
        for await event in client.events {
            ownership.withLock { $0.apply(event) }
            switch event {
            case .granted: await claimDue()
            case .leaseLost: metrics.leaseSafe.record(0)
            case .leaseAcquired, .leaseRegained: metrics.leaseSafe.record(1)
            case .revoked: break
            }
            metrics.partitionsOwned.record(ownership.withLock { $0.owned.count })
        }
    }

    /// Every `workInterval`: retries claims still due, then runs one fenced work transaction.
    private func workLoop() async {
        let clock = ContinuousClock()
        var next = clock.now
        while !Task.isCancelled {
            next = next.advanced(by: configuration.workInterval)
            await claimDue()
            await workRound()
            try? await Task.sleep(until: max(next, clock.now), clock: clock)
        }
    }

    private func claimDue() async {
        guard let lease = client.safeLease() else { return }
        let due = ownership.withLock { $0.claimsDue }
        guard !due.isEmpty else { return }
        do {
            let result = try await store.claim(due, number: lease.number, worker: configuration.name.rawValue)
            ownership.withLock { $0.claimed(result) }
            metrics.claims(claimed: result.claimed.count, fenced: result.fenced.count)
            logger.info("partitions claimed", metadata: ["claimed": "\(result.claimed.count)", "fenced": "\(result.fenced.count)"])
            if !result.fenced.isEmpty {
                logger.warning("claims fenced by a newer grant", metadata: ["partitions": "\(result.fenced.map(\.partition))"])
            }
        } catch {
            metrics.claimFailures.increment()
            logger.warning("claim failed; retrying next round", metadata: ["error": "\(error)"])
        }
    }

    /// One transaction over the owned partitions, only while the lease is safe.
    private func workRound() async {
        guard let status = client.status() else { return }
        let workable = ownership.withLock { $0.workable(grantedNow: status.grants) }
        guard !workable.isEmpty else { return }
        do {
            let result = try await store.work(workable, worker: configuration.name.rawValue)
            ownership.withLock { $0.worked(result) }
            metrics.worked(result)
            if !result.fenced.isEmpty {
                logger.warning(
                    "ownership lost: a newer grant claimed these partitions; stopped them",
                    metadata: ["partitions": "\(result.fenced.map(\.partition))"])
            }
            logger.info(
                "worked",
                metadata: ["partitions": "\(result.worked.count)", "rows": "\(result.rowsTouched)", "ids": "\(Self.summary(result))"])
        } catch {
            metrics.workFailures.increment()
            logger.warning("work round failed; retrying next round", metadata: ["error": "\(error)"])
        }
    }

    /// The ids watched: all of them up to 20, else the first 20 and how many more.
    static func summary(_ result: WorkResult) -> String {
        let listed = result.sampleIDs.prefix(20).joined(separator: " ")
        let more = result.rowsTouched - min(result.sampleIDs.count, 20)
        return more > 0 ? "\(listed) … and \(more) more" : listed
    }
}
