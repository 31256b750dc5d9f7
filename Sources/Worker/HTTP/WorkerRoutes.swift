import Coordination
import Hummingbird
import RollcallClient
import ServerSupport

/// The worker's own HTTP API: Snowflake ids, status, health, readiness and metrics.
struct WorkerRoutes: Sendable {
    let worker: PartitionWorker
    let kafka: WorkerKafka?

    func register(on router: Router<APIContext>) {
        router.get("/healthz") { _, _ in Response.json(["status": "ok"]) }
        router.get("/readyz") { _, _ in
            guard worker.client.safeLease() != nil else { throw Self.unsafe }
            return Response.json(["status": "ready"])
        }
        router.get("/metrics") { _, _ in Response.prometheus(worker.metrics.exposition()) }
        router.get("/v1/id") { _, _ in Response.json(["id": try issue(1)[0].description]) }
        router.get("/v1/ids") { request, _ in
            let text = request.uri.queryParameters.get("count") ?? ""
            guard let count = Int(text), (1...SnowflakeGenerator<SystemMillisecondClock>.maxBatch).contains(count) else {
                throw APIError.badRequest(.invalidCount, "count must be an integer in 1...4096, got '\(text.prefix(32))'")
            }
            return Response.json(encoded: IDListBody.encode(try issue(count)))
        }
        router.get("/v1/status") { _, _ in Response.json(status()) }
        router.get("/v1/openapi.yaml") { _, _ in Response.openAPIDocument() }
    }

    private static let unsafe = APIError(
        code: .leaseUnsafe, message: "this worker holds no safe lease right now", retryAfterMillis: 1000)

    private func issue(_ count: Int) throws(APIError) -> [SnowflakeID] {
        do {
            return try worker.issueIDs(count: count)
        } catch {
            switch error {
            case .leaseUnsafe:
                throw Self.unsafe
            case .generator(let error):
                throw APIError(code: .clock, message: "no id issued: \(error)", retryAfterMillis: 1000)
            }
        }
    }

    private func status() -> WorkerStatus {
        let lease = worker.client.status()
        let claimed = lease == nil ? [] : worker.claimedPartitions
        return WorkerStatus(
            name: worker.configuration.name.rawValue, instance: worker.client.instance, safe: lease != nil,
            number: lease?.lease.number, epoch: lease?.lease.epoch, consumerGroup: lease?.lease.consumerGroup,
            leaseRemainingMillis: lease?.safeFor.wholeMilliseconds ?? 0, claimedCount: claimed.count, partitions: claimed,
            grantedCount: lease?.grants.count ?? 0, lastRefusal: worker.client.lastRefusal()?.description,
            kafka: kafka.map {
                WorkerStatus.Kafka(
                    group: $0.consumer.membership?.group, joins: $0.consumer.joins, leaves: $0.consumer.leaves,
                    records: $0.consumer.records, requests: $0.requests?.counts)
            })
    }
}
