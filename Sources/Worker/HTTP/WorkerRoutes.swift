import Coordination
import Hummingbird
import ServerSupport

/// The worker's own HTTP API: Snowflake ids, status, health, readiness and metrics.
struct WorkerRoutes: Sendable {
    let worker: PartitionWorker
    let ids: IDIssuer

    func register(on router: Router<APIContext>) {
        router.get("/healthz") { _, _ in Response.json(["status": "ok"]) }
        router.get("/readyz") { _, _ in
            guard worker.client.safeLease() != nil else { throw Self.unsafe }
            return Response.json(["status": "ready"])
        }
        router.get("/metrics") { _, _ in Response.prometheus(worker.metrics.exposition()) }
        router.get("/v1/id") { _, _ in Response.json(["id": try issue(1)[0]]) }
        router.get("/v1/ids") { request, _ in
            let text = request.uri.queryParameters.get("count") ?? ""
            guard let count = Int(text), (1...SnowflakeGenerator<SystemMillisecondClock>.maxBatch).contains(count) else {
                throw APIError.badRequest("invalid_count", "count must be an integer in 1...4096, got '\(text.prefix(32))'")
            }
            return Response.json(["ids": try issue(count)])
        }
        router.get("/v1/status") { _, _ in Response.json(status()) }
    }

    private static let unsafe = APIError(
        status: .serviceUnavailable, code: "lease_unsafe", message: "this worker holds no safe lease right now", retryAfterMillis: 1000)

    private func issue(_ count: Int) throws(APIError) -> [String] {
        do {
            let issued = try ids.next(count: count)
            worker.metrics.idsIssued.increment(by: issued.count)
            return issued.map(\.description)
        } catch {
            switch error {
            case .leaseUnsafe:
                throw Self.unsafe
            case .generator(let error):
                throw APIError(status: .serviceUnavailable, code: "clock", message: "no id issued: \(error)", retryAfterMillis: 1000)
            }
        }
    }

    private func status() -> WorkerStatus {
        let lease = worker.client.status()
        let owned = lease == nil ? [] : worker.ownedPartitions
        return WorkerStatus(
            name: worker.configuration.name.rawValue, instance: worker.client.configuration.instance, safe: lease != nil,
            number: lease?.lease.number, epoch: lease?.lease.epoch, consumerGroup: lease?.lease.consumerGroup,
            leaseRemainingMillis: lease?.safeFor.wholeMilliseconds ?? 0, partitionCount: owned.count, partitions: owned,
            grantedCount: lease?.grants.count ?? 0)
    }
}

/// `GET /v1/status`.
struct WorkerStatus: Codable, Sendable, Equatable {
    var name: String
    var instance: String
    /// Whether the lease is safe now; number, epoch and consumer group are null while it is not.
    var safe: Bool
    var number: Int?
    var epoch: Epoch?
    var consumerGroup: String?
    /// How long the lease stays safe without a renewal.
    var leaseRemainingMillis: Int64
    /// Partitions claimed in Postgres and being processed.
    var partitionCount: Int
    var partitions: [Int]
    /// Partitions the control plane grants (claims may still be pending).
    var grantedCount: Int
}
