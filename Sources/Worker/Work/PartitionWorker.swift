import AsyncAlgorithms
import Coordination
import Logging
import PostgresAdapter
import RollcallClient
import ServiceLifecycle
import Synchronization

/// The worker's one loop, as a `Service`: lease events and work ticks arrive merged, in order, and are
/// handled one at a time, so a claim is never made twice at once and the claims change in one place.
/// A grant is claimed as soon as its event arrives; every `workInterval` a tick retries claims still
/// due and runs one fenced work transaction.
///
/// Run it after the `RollcallClient` in one ServiceGroup: graceful shutdown then reaches this service
/// first (the transaction in flight finishes, nothing new starts) and the client after it, which
/// releases the lease, so the control plane hands the partitions on at once. It is also the one place
/// that records the worker's metrics.
final class PartitionWorker: Service, Sendable {
    let client: RollcallClient
    let store: WorkStore
    let configuration: WorkerConfiguration
    let metrics: WorkerMetrics
    let logger: Logger
    private let claims = Mutex(Claims())
    private let ids: IDIssuer
    private let load = Mutex(LoadMeter<ContinuousClock>(now: .now))
    private let nextLoadReport = Mutex(ContinuousClock.now)

    init(client: RollcallClient, store: WorkStore, configuration: WorkerConfiguration, metrics: WorkerMetrics, logger: Logger) {
        self.client = client
        self.store = store
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        ids = IDIssuer(client: client)
    }

    /// Owned partitions, for /v1/status.
    var claimedPartitions: [Partition] { claims.withLock { $0.claimedPartitions } }

    /// `count` Snowflake ids from this worker's number, only while its lease is safe.
    func issueIDs(count: Int) throws(IDIssuer.Failure) -> [SnowflakeID] {
        let issued = try ids.next(count: count)
        metrics.idsIssued.increment(by: issued.count)
        return issued
    }

    private enum Trigger: Sendable {
        case event(LeaseEvent)
        case tick
    }

    func run() async throws {
        let ticks = AsyncTimerSequence(interval: configuration.workInterval, clock: .continuous).map { _ in Trigger.tick }
        let events = client.events.map { Trigger.event($0) }
        await cancelWhenGracefulShutdown {
            for await trigger in merge(events, ticks) { await self.handle(trigger) }
        }
        claims.withLock { $0.stopAll() }
        metrics.partitionsOwned.record(0)
        logger.info("work stopped; the client releases the lease next")
    }

    /// One event or tick: apply the event, make the claims that are due, and on a tick run a work round.
    private func handle(_ trigger: Trigger) async {
        switch trigger {
        case .event(let event):
            claims.withLock { $0.apply(event) }
            switch event {
            case .leaseLost(let reason):
                metrics.leaseSafe.record(0)
                metrics.leaseLost(reason)
            case .leaseAcquired, .leaseRegained: metrics.leaseSafe.record(1)
            case .granted, .revoked: break
            }
        case .tick:
            break
        }
        await claimDue()
        if case .tick = trigger {
            await workRound()
            reportLoad()
        }
        metrics.partitionsOwned.record(claims.withLock { $0.claimed.count })
    }

    /// Every `loadReportInterval`: the rows done per held partition since the last report go with the
    /// next heartbeat (a pool balanced by load balances by them).
    private func reportLoad() {
        let now = ContinuousClock.now
        let due = nextLoadReport.withLock { next in
            guard now >= next else { return false }
            next = now + configuration.loadReportInterval
            return true
        }
        guard due else { return }
        let held = claims.withLock { $0.claimedPartitions }
        if let report = load.withLock({ $0.report(held: held, now: now) }) { client.report(load: report) }
    }

    private func claimDue() async {
        guard let status = client.status() else { return }
        let due = claims.withLock { $0.claimsDue(grantedNow: status.grants) }
        guard !due.isEmpty else { return }
        let start = ContinuousClock.now
        defer { metrics.claimRoundDuration.recordNanoseconds((ContinuousClock.now - start).nanoseconds) }
        do {
            let result = try await store.claim(due, number: status.lease.number, worker: configuration.name.rawValue)
            claims.withLock { $0.record(result) }
            metrics.claims(claimed: result.claimed.count, fenced: result.fenced.count)
            logger.info("partitions claimed", metadata: ["claimed": "\(result.claimed.count)", "fenced": "\(result.fenced.count)"])
            if !result.fenced.isEmpty {
                logger.warning("claims fenced by a newer grant", metadata: ["partitions": "\(result.fenced.map(\.partition))"])
            }
        } catch {
            metrics.claimFailures.increment()
            if !failedOver(error) { logger.warning("claim failed; retrying next round", metadata: ["error": "\(error)"]) }
        }
    }

    /// One round over the claimed partitions, a transaction per `workBatch` of them. Each transaction
    /// starts only while the lease is safe, over the partitions it grants at that moment, so a round
    /// that takes long (a million rows) neither outlasts the statement timeout in one transaction nor
    /// goes on past the lease. A failed transaction ends the round; the next tick starts a new one.
    private func workRound() async {
        let start = ContinuousClock.now
        var round = WorkResult(worked: [], fenced: [], rowsTouched: 0, sampleIDs: [])
        var done: Set<Partition> = []
        defer {
            if !done.isEmpty {
                metrics.workRoundDuration.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
            }
            if !round.worked.isEmpty {
                metrics.workRounds.increment()
                logger.info(
                    "worked",
                    metadata: ["partitions": "\(round.worked.count)", "rows": "\(round.rowsTouched)", "ids": "\(Self.summary(round))"])
            }
        }
        // Graceful shutdown cancels this task: the transaction in flight finishes, no other starts.
        while !Task.isCancelled, let status = client.status() {
            let batch = claims.withLock { $0.workable(grantedNow: status.grants) }.filter { !done.contains($0.partition) }
                .prefix(configuration.workBatch)
            guard !batch.isEmpty else { return }
            done.formUnion(batch.map(\.partition))
            do {
                let result = try await store.work(Array(batch), worker: configuration.name.rawValue)
                claims.withLock { $0.worked(result) }
                load.withLock { $0.add(result.rowsByPartition) }
                metrics.worked(result)
                round.add(result)
                if !result.fenced.isEmpty {
                    logger.warning(
                        "a newer grant claimed these partitions; stopped them",
                        metadata: ["partitions": "\(result.fenced.map(\.partition))"])
                }
                if !result.lost.isEmpty {
                    logger.warning(
                        "PostgreSQL lost these claims (an older claim or none is there, as after a failover without the last commits); claiming them again",
                        metadata: ["partitions": "\(result.lost.map(\.partition))"])
                }
            } catch {
                metrics.workFailures.increment()
                if !failedOver(error) { logger.warning("work round failed; retrying next round", metadata: ["error": "\(error)"]) }
                return
            }
        }
    }

    /// Whether `error` says PostgreSQL failed over (a standby was promoted; nothing ran). The promoted
    /// standby may lack our last claims, so every partition is claimed again before it is worked again.
    private func failedOver(_ error: any Error) -> Bool {
        guard let failover = (error as? PostgresError)?.failover else { return false }
        claims.withLock { $0.claimAgain() }
        metrics.databaseFailovers.increment()
        logger.warning(
            "PostgreSQL failed over; claiming every partition again before any more work",
            metadata: ["fromTimeline": "\(failover.from)", "toTimeline": "\(failover.to)"])
        return true
    }

    /// The ids watched: all of them up to 20, else the first 20 and how many more.
    static func summary(_ result: WorkResult) -> String {
        let listed = result.sampleIDs.prefix(20).joined(separator: " ")
        let more = result.rowsTouched - min(result.sampleIDs.count, 20)
        return more > 0 ? "\(listed) … and \(more) more" : listed
    }
}
