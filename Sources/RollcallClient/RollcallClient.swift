import AsyncHTTPClient
import Coordination
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The async client of the control plane: keeps one lease alive by heartbeats, tracks its safety on
/// the monotonic clock, and publishes every change as a `LeaseEvent`.
///
/// Run it as a `Service` (it heartbeats until graceful shutdown, then releases the lease), or call
/// `heartbeatLoop()` and `release()` yourself to order the release after your own shutdown work.
/// Check `status()` right before each unit of work or id: the events tell you what changed, the
/// status tells you whether the lease is safe *now*.
public final class RollcallClient: Service, Sendable {
    public let configuration: RollcallClientConfiguration
    /// Lease and grant changes, in order. One consumer; buffered without limit (events are rare).
    public let events: AsyncStream<LeaseEvent>
    private let continuation: AsyncStream<LeaseEvent>.Continuation
    private let state: Mutex<LeaseStateMachine<ContinuousClock>>
    private let clock = ContinuousClock()
    private let http: HTTPClient
    private let logger: Logger
    private let tokenFile: TokenFile?

    public init(configuration: RollcallClientConfiguration, httpClient: HTTPClient = .shared, logger: Logger) {
        self.configuration = configuration
        self.http = httpClient
        self.logger = logger
        tokenFile = configuration.authTokenFile.map { TokenFile(path: $0, token: configuration.authToken) }
        (events, continuation) = AsyncStream.makeStream(of: LeaseEvent.self)
        state = Mutex(
            LeaseStateMachine(
                name: configuration.name, instance: configuration.instance, driftAllowance: configuration.driftAllowance,
                backoff: configuration.backoff, kind: configuration.kind, now: clock.now))
    }

    /// The lease if it is safe now; nil otherwise. Cheaper than `status()`: no grant list is built.
    public func safeLease() -> Lease? {
        let now = clock.now
        return state.withLock { $0.safeLease(at: now) }
    }

    /// The instance id heartbeats are sent as: `configuration.instance`, until another process is found
    /// using it (then a new random one).
    public var instance: InstanceID { state.withLock { $0.instance } }

    /// The last client error (4xx) the control plane refused a heartbeat with, until one succeeds again.
    public func lastRefusal() -> HeartbeatRefusal? { state.withLock { $0.lastRefusal } }

    /// Sends `load` (rows waiting and rows per second of the partitions this worker holds) with the next
    /// heartbeat, once. Report every few seconds: a pool with `balance: load` balances by it.
    public func report(load: PartitionLoadReport) { state.withLock { $0.report(load: load) } }

    /// The lease and its grants if the lease is safe now; nil otherwise.
    public func status() -> LeaseStatus? {
        let now = clock.now
        return state.withLock { machine in
            guard let lease = machine.safeLease(at: now), let deadline = machine.deadline else { return nil }
            return LeaseStatus(
                lease: lease, grants: machine.grants.map { PartitionGrant(partition: $0.key, epoch: $0.value) }.sorted(),
                safeFor: deadline.remaining(at: now))
        }
    }

    /// Heartbeats until graceful shutdown or cancellation, then releases the lease.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown { try await self.heartbeatLoop() }
        await release()
    }

    /// Heartbeats at the interval the control plane returns until the task is cancelled.
    public func heartbeatLoop() async throws {
        while true {
            let wake = state.withLock { $0.wakeTime }
            try await Task.sleep(until: wake, clock: clock)
            let now = clock.now
            let (events, due) = state.withLock { ($0.expire(at: now), now >= $0.nextHeartbeat) }
            publish(events)
            if due { await beat() }
        }
    }

    /// Stops trusting the lease at once (`leaseLost(.released)`), then frees the number and partitions
    /// on the control plane. Ends `events`. Safe to call more than once. Returns whether the control
    /// plane confirmed the release (otherwise the lease lapses after its TTL).
    @discardableResult
    public func release() async -> Bool {
        let (events, leased, instance) = state.withLock { ($0.released(), $0.hasLeased, $0.instance) }
        publish(events)
        continuation.finish()
        guard leased else { return false }
        var delete = HTTPClientRequest(url: "\(configuration.baseURL)\(configuration.leasePath)?instance=\(instance)")
        delete.method = .DELETE
        authorize(&delete)
        do {
            let response = try await http.execute(delete, timeout: .nanoseconds(configuration.releaseTimeout.nanoseconds))
            switch response.status.code {
            case 204, 404:
                logger.info("lease released", metadata: ["name": "\(configuration.name)"])
                return true
            default:
                logger.warning("release refused; the lease lapses after its TTL", metadata: ["status": "\(response.status.code)"])
            }
        } catch {
            logger.warning("release failed; the lease lapses after its TTL", metadata: ["error": "\(error)"])
        }
        return false
    }

    private func beat() async {
        let sentAt = clock.now
        let (request, timeout) = state.withLock { machine in
            (
                machine.nextRequest(at: sentAt),
                configuration.requestTimeout ?? max(machine.lease?.heartbeatInterval ?? .seconds(1), .milliseconds(250))
            )
        }
        do {
            let response = try await send(request, timeout: timeout)
            let now = clock.now
            // An answer that comes later than the timeout (this process was paused, say) is not used: the
            // next request, with a newer sequence number, asks again.
            guard now - sentAt <= timeout else { throw HeartbeatFailure.transport("the answer came after the \(timeout) timeout") }
            let events = try state.withLock { (machine) throws(HeartbeatFailure) in
                try machine.succeeded(response, sentAt: sentAt, now: now)
            }
            publish(events)
        } catch {
            let failure = error as? HeartbeatFailure ?? .transport("\(error)")
            var random = SystemRandomNumberGenerator()
            let now = clock.now
            let (events, refusal, newRefusal, instance) = state.withLock { machine in
                let before = (refusal: machine.lastRefusal, instance: machine.instance)
                let events = machine.failed(failure, now: now, using: &random)
                return (events, machine.lastRefusal, machine.lastRefusal != before.refusal, (was: before.instance, now: machine.instance))
            }
            if instance.was != instance.now {
                logger.error(
                    "another process sends heartbeats as this instance; carrying on as a new instance",
                    metadata: ["name": "\(configuration.name)", "instance": "\(instance.was)", "newInstance": "\(instance.now)"])
            }
            if let refusal, newRefusal {
                // Logged once per distinct refusal, not once per retry: it needs a person, not a retry.
                logger.error(
                    "the control plane refuses this worker's heartbeats; dropped the number hint and retrying",
                    metadata: ["name": "\(configuration.name)", "refusal": "\(refusal)"])
            } else {
                logger.log(
                    level: events.isEmpty ? .debug : .warning, "heartbeat failed",
                    metadata: ["name": "\(configuration.name)", "error": "\(failure)"])
            }
            publish(events)
        }
    }

    private func send(_ body: HeartbeatRequest, timeout: Duration) async throws -> HeartbeatResponse {
        var request = HTTPClientRequest(url: "\(configuration.baseURL)\(configuration.leasePath)/heartbeat")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        authorize(&request)
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await http.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
            bytes = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw HeartbeatFailure.transport("\(error)")
        }
        let retryAfter = response.headers.first(name: "Retry-After").flatMap(Int64.init).map { Duration.seconds($0) }
        let error = try? JSONDecoder().decode(ErrorBody.self, from: Data(bytes.readableBytesView))
        let code = error.flatMap { ErrorCode(rawValue: $0.error) }
        let message = error?.message ?? response.status.reasonPhrase
        switch response.status.code {
        case 200:
            do {
                return try JSONDecoder().decode(HeartbeatResponse.self, from: Data(bytes.readableBytesView))
            } catch {
                throw HeartbeatFailure.transport("the heartbeat response is not valid: \(error)")
            }
        case 409 where code == .staleRequest: throw HeartbeatFailure.stale
        case 409: throw HeartbeatFailure.conflict(retryAfter: retryAfter)
        case 429: throw HeartbeatFailure.throttled(retryAfter: retryAfter)
        case 503 where code == .recovering: throw HeartbeatFailure.recovering(retryAfter: retryAfter)
        case 503: throw HeartbeatFailure.unavailable(retryAfter: retryAfter, message: message)
        default: throw HeartbeatFailure.refused(status: Int(response.status.code), message: message)
        }
    }

    private func authorize(_ request: inout HTTPClientRequest) {
        if let token = tokenFile?.current() ?? configuration.authToken {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
    }

    private func publish(_ events: [LeaseEvent]) {
        for event in events {
            log(event)
            continuation.yield(event)
        }
    }

    private func log(_ event: LeaseEvent) {
        let name: Logger.MetadataValue = "\(configuration.name)"
        switch event {
        case .leaseAcquired(let lease), .leaseRegained(let lease):
            logger.info(
                "lease granted",
                metadata: [
                    "name": name, "number": "\(lease.number)", "epoch": "\(lease.epoch)", "consumerGroup": "\(lease.consumerGroup)",
                ])
        case .leaseLost(let reason):
            logger.log(
                level: reason == .released ? .info : .warning, "lease lost: stop all work", metadata: ["name": name, "reason": "\(reason)"])
        case .granted(let grants):
            logger.info("partitions granted", metadata: ["name": name, "count": "\(grants.count)"])
        case .revoked(let partitions):
            logger.info("partitions revoked", metadata: ["name": name, "count": "\(partitions.count)"])
        }
    }
}
