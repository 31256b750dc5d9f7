import Coordination
import CoreMetrics
import KafkaAdapter
import Logging
import NIOPosix
import RollcallClient
import ServiceLifecycle
import Synchronization

/// A Kafka consumer that sits in its lease's consumer group (`inbox-3` for number 3) only while the
/// lease is safe, for any Swift service beside `RollcallClient` (the worker is one user).
///
/// `GroupMembership` decides when to join and leave; this runs its decisions: librdkafka's calls on a
/// thread of their own (never on the Swift concurrency pool), records handed to `handle` in batches,
/// and after `handle` recorded a batch, exactly that batch's offsets committed. Any failure to record
/// leaves the group without a commit, so nothing is skipped: the group's next member (this one again,
/// or the number's next holder) resumes at the last commit, at least once and never from the start.
///
/// A record polled is handed on only if the lease is still safe, for the same number and epoch, when
/// the poll returns; a worker paused past its TTL consumes nothing after it resumes.
public final class LeaseBoundConsumer: Service, Sendable {
    public struct Configuration: Sendable {
        /// `bootstrap.servers`.
        public var brokers: String
        public var topics: [String]
        /// More librdkafka properties (TLS and SASL: `security.protocol`, `ssl.ca.location`, `sasl.*`).
        public var settings: [String: String] = [:]
        /// At most this many records per batch handed on.
        public var batchSize = 500
        /// How long one poll waits for a first record.
        public var pollTimeout: Duration = .milliseconds(200)
        /// How long leaving may take: the consumer leaves when its lease is safe for less. It must cover
        /// one poll and one batch's handling too, as a leave waits for the batch in hand. nil: a quarter
        /// of the lease TTL (2.5 s of 10 s).
        public var leaveMargin: Duration?
        /// A join starts only when the lease is safe for this much more than the leave margin. nil: a
        /// tenth of the lease TTL.
        public var joinMargin: Duration?
        /// Where `auto.offset.reset` points a group with no commit yet: `earliest` or `latest`.
        public var offsetReset = "earliest"

        public init(brokers: String, topics: [String]) {
            self.brokers = brokers
            self.topics = topics
        }

        /// The consumer's librdkafka settings for `membership` under a lease of `leaseTTL`: offsets
        /// committed by hand only, `group.instance.id` set (static membership: a broker that fences by it
        /// fences the number's previous holder too), and a session timeout no longer than the lease, so
        /// the broker also drops a member that went silent no later than its lease ends.
        public func consumerSettings(for membership: GroupMembership.Membership, leaseTTL: Duration) -> [String: String] {
            let session = max(1000, min(6000, leaseTTL.wholeMilliseconds))
            var all = settings
            all["bootstrap.servers"] = brokers
            all["group.id"] = membership.group
            all["group.instance.id"] = membership.instanceID
            all["enable.auto.commit"] = "false"
            all["auto.offset.reset"] = offsetReset
            all["session.timeout.ms"] = "\(session)"
            all["heartbeat.interval.ms"] = "\(max(100, session / 3))"
            all["max.poll.interval.ms"] = "\(session + 1000)"
            all["enable.partition.eof"] = "false"
            return all
        }
    }

    /// What the handler did with a batch.
    public enum Disposition: Sendable {
        /// Recorded: its offsets are committed.
        case recorded
        /// Refused because the number has a newer holder (its fencing epoch): leave, commit nothing.
        case fenced
    }

    /// Counters for consumed records, joins and leaves, and the lag per group (`rollcall_kafka_*`).
    public struct Metrics: Sendable {
        let records: CoreMetrics.Counter
        let joins: CoreMetrics.Counter
        let leaves: CoreMetrics.Counter
        let failures: CoreMetrics.Counter
        let member: CoreMetrics.Gauge
        private let factory: any MetricsFactory

        public init(factory: any MetricsFactory = MetricsSystem.factory) {
            self.factory = factory
            records = CoreMetrics.Counter(label: "rollcall_kafka_records_total", dimensions: [], factory: factory)
            joins = CoreMetrics.Counter(label: "rollcall_kafka_group_joins_total", dimensions: [], factory: factory)
            leaves = CoreMetrics.Counter(label: "rollcall_kafka_group_leaves_total", dimensions: [], factory: factory)
            failures = CoreMetrics.Counter(label: "rollcall_kafka_failures_total", dimensions: [], factory: factory)
            member = CoreMetrics.Gauge(label: "rollcall_kafka_group_member", dimensions: [], factory: factory)
            // Every series exists from the start, so a dashboard finds them before the first join (the
            // lag's as `group=""`: every series of one name carries the same label).
            member.record(0)
            lag(of: "").record(0)
        }

        /// `rollcall_kafka_lag_records{group=...}`: records behind the end of the group's assigned
        /// partitions, 0 once this process left the group. A process sits in one group at a time, and
        /// the groups are one per number, so the series are as many as the numbers it ever held.
        func lag(of group: String) -> CoreMetrics.Gauge {
            CoreMetrics.Gauge(label: "rollcall_kafka_lag_records", dimensions: [("group", group)], factory: factory)
        }
    }

    /// The membership now, for a status page.
    public var membership: GroupMembership.Membership? {
        state.withLock { state in
            if case .member(let membership) = state.membership.state { return membership }
            return nil
        }
    }

    /// Groups joined and left, and records handed on and committed, since the start.
    public var joins: Int { state.withLock { $0.joins } }
    public var leaves: Int { state.withLock { $0.leaves } }
    public var records: Int { state.withLock { $0.records } }

    private struct State: Sendable {
        var membership: GroupMembership
        var draining = false
        var joins = 0
        var leaves = 0
        var records = 0
    }

    private let configuration: Configuration
    private let status: @Sendable () -> LeaseStatus?
    private let join: @Sendable (GroupMembership.Membership) async throws -> Bool
    private let handle: @Sendable ([KafkaRecord], GroupMembership.Membership) async throws -> Disposition
    private let metrics: Metrics
    private let logger: Logger
    private let state: Mutex<State>
    /// The consumer handle, only ever used on `thread`.
    private let consumer = Mutex<KafkaConsumerHandle?>(nil)
    private let thread = NIOThreadPool(numberOfThreads: 1)

    /// - Parameters:
    ///   - status: the lease now (`RollcallClient.status`).
    ///   - join: runs before a join, under the safe lease (the worker claims the group's fencing row);
    ///     false refuses the join (a newer holder).
    ///   - handle: records one batch; returns `.fenced` if the lease it was polled under is no longer
    ///     the number's newest.
    public init(
        configuration: Configuration, status: @escaping @Sendable () -> LeaseStatus?,
        join: @escaping @Sendable (GroupMembership.Membership) async throws -> Bool = { _ in true },
        handle: @escaping @Sendable ([KafkaRecord], GroupMembership.Membership) async throws -> Disposition,
        metrics: Metrics = Metrics(), logger: Logger
    ) {
        self.configuration = configuration
        self.status = status
        self.join = join
        self.handle = handle
        self.metrics = metrics
        self.logger = logger
        state = Mutex(
            State(
                membership: GroupMembership(
                    leaveMargin: configuration.leaveMargin ?? .seconds(2), joinMargin: configuration.joinMargin ?? .seconds(1))))
        thread.start()
    }

    /// Consumes until cancelled or shut down gracefully (SIGTERM): then it leaves its group (commit,
    /// close) before returning, so the lease is released with no member left behind.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await self.loop()
        } onGracefulShutdown: {
            self.state.withLock { $0.draining = true }
        }
        // Drained or cancelled: out of the group in either case.
        let drain = state.withLock { $0.membership.drain() }
        if case .leave(let membership) = drain { await leave(membership, reason: "drain") }
        try? await thread.shutdownGracefully()
    }

    private func loop() async {
        var failures = 0
        while !Task.isCancelled, !state.withLock({ $0.draining }) {
            let now = status()
            let succeeded: Bool
            switch observe(now) {
            case .join(let membership):
                succeeded = await enter(membership, leaseTTL: now?.lease.leaseTTL ?? .seconds(10))
            case .leave(let membership):
                await leave(membership, reason: now == nil ? "lease not safe" : "lease ending or changed")
                succeeded = true
            case .none:
                guard case .member(let membership) = state.withLock({ $0.membership.state }) else {
                    try? await Task.sleep(for: configuration.pollTimeout)
                    continue
                }
                succeeded = await consume(as: membership)
            }
            // A join or a batch that failed is tried again after a growing pause (200 ms to 5 s), so a
            // database or broker that is down is not hammered.
            failures = succeeded ? 0 : failures + 1
            if failures > 0 { try? await Task.sleep(for: min(.milliseconds(100) * (1 << min(failures, 6)), .seconds(5))) }
        }
    }

    /// The state machine's step for `status`, its margins following the lease's TTL unless configured.
    private func observe(_ status: LeaseStatus?) -> GroupMembership.Action {
        let (leaveMargin, joinMargin) = (configuration.leaveMargin, configuration.joinMargin)
        return state.withLock { state in
            if let ttl = status?.lease.leaseTTL {
                state.membership.leaveMargin = leaveMargin ?? ttl.scaled(by: 0.25)
                state.membership.joinMargin = joinMargin ?? ttl.scaled(by: 0.1)
            }
            return state.membership.observe(status)
        }
    }

    /// Claims the group (the `join` hook), then makes the consumer and subscribes on the consumer's thread.
    private func enter(_ membership: GroupMembership.Membership, leaseTTL: Duration) async -> Bool {
        do {
            guard try await join(membership) else {
                logger.warning("not joining: the number has a newer holder", metadata: ["group": "\(membership.group)"])
                state.withLock { $0.membership.left() }
                return false
            }
            let settings = configuration.consumerSettings(for: membership, leaseTTL: leaseTTL)
            let topics = configuration.topics
            try await onThread { consumer in
                let handle = try KafkaConsumerHandle(settings: settings)
                try handle.subscribe(topics)
                consumer = handle
            }
            state.withLock { state in
                state.membership.joined()
                state.joins += 1
            }
            metrics.joins.increment()
            metrics.member.record(1)
            logger.info("joined the lease's consumer group", metadata: ["group": "\(membership.group)", "epoch": "\(membership.epoch)"])
            return true
        } catch {
            metrics.failures.increment()
            logger.warning("could not join the consumer group", metadata: ["group": "\(membership.group)", "error": "\(error)"])
            await closeConsumer()
            state.withLock { $0.membership.left() }
            return false
        }
    }

    /// One poll; what it returned is handed on only under the same safe lease, and committed once
    /// recorded. False when it failed (and left the group).
    private func consume(as membership: GroupMembership.Membership) async -> Bool {
        let (batchSize, timeout) = (configuration.batchSize, Int32(configuration.pollTimeout.wholeMilliseconds))
        do {
            let (records, lag) = try await onThread { consumer in
                (try consumer?.poll(max: batchSize, timeoutMillis: timeout) ?? [], consumer?.lag())
            }
            if let lag { metrics.lag(of: membership.group).record(lag) }
            guard !records.isEmpty else { return true }
            // The lease may have lapsed while the poll waited (or the process was paused): hand nothing on then.
            if case .leave(let current) = observe(status()) {
                await leave(current, reason: "lease ended while polling; \(records.count) records not handed on")
                return true
            }
            switch try await handle(records, membership) {
            case .recorded:
                try await onThread { consumer in try consumer?.commit(after: records) }
                metrics.records.increment(by: Int64(records.count))
                state.withLock { $0.records += records.count }
                return true
            case .fenced:
                logger.warning("records refused: the number has a newer holder; leaving", metadata: ["group": "\(membership.group)"])
                _ = state.withLock { $0.membership.leaveNow() }
                await leave(membership, reason: "fenced")
                return false
            }
        } catch {
            // Not recorded (or not committed): leave without a commit, so the group resumes at the last one.
            metrics.failures.increment()
            logger.warning(
                "consuming failed; leaving the group to resume at its last commit",
                metadata: ["group": "\(membership.group)", "error": "\(error)"])
            _ = state.withLock { $0.membership.leaveNow() }
            await leave(membership, reason: "failure")
            return false
        }
    }

    /// Leaves the group: closing the consumer sends the broker a LeaveGroup. Offsets were committed batch
    /// by batch, each after its batch was recorded; nothing else is committed.
    private func leave(_ membership: GroupMembership.Membership, reason: String) async {
        await closeConsumer()
        state.withLock { state in
            state.membership.left()
            state.leaves += 1
        }
        metrics.leaves.increment()
        metrics.member.record(0)
        metrics.lag(of: membership.group).record(0)
        logger.info("left the consumer group", metadata: ["group": "\(membership.group)", "reason": "\(reason)"])
    }

    private func closeConsumer() async {
        try? await onThread { consumer in
            consumer?.close()
            consumer = nil
        }
    }

    /// Runs `body` on the consumer's own thread with the consumer handle.
    private func onThread<T: Sendable>(_ body: @escaping @Sendable (inout KafkaConsumerHandle?) throws -> T) async throws -> T {
        try await thread.runIfActive { try self.consumer.withLock { try body(&$0) } }
    }
}

extension Duration {
    /// Whole milliseconds, for librdkafka's settings and timeouts.
    var wholeMilliseconds: Int { Int(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000) }
}
