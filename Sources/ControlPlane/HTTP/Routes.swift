import Coordination
import Foundation
import Hummingbird
import RedisAdapter
import ServerSupport

/// The control plane's HTTP API (DESIGN.md, "HTTP API").
struct Routes: Sendable {
    let store: LeaseStore

    /// The instance `GET /{name}` leases under, so repeated GETs renew one lease (podnum's behaviour).
    static let shortcutInstance = "get-shortcut"

    func register(on router: Router<APIContext>) {
        router.get("/healthz") { _, _ in Response.json(["status": "ok"]) }
        router.get("/readyz") { _, _ in try await readiness() }
        router.get("/metrics") { _, _ in
            Response.prometheus(store.metrics.exposition())
        }
        router.post("/v1/workers/:name/heartbeat") { request, context in try await heartbeat(request, context) }
        router.delete("/v1/workers/:name") { request, context in try await release(request, context) }
        router.get("/v1/workers") { _, _ in Response.json(WorkerList(workers: try await storeCall { try await store.workers() })) }
        router.get("/v1/assignment") { _, _ in Response.json(try await storeCall { try await store.assignment() }) }
        router.get("/:name") { _, context in try await shortcut(context) }
    }

    private func readiness() async throws -> Response {
        do {
            try await store.ping()
            return Response.json(["status": "ready"])
        } catch {
            throw APIError.unavailable("Redis is unreachable: \(error)")
        }
    }

    private func heartbeat(_ request: Request, _ context: APIContext) async throws -> Response {
        let name = try Self.name(context)
        let body: HeartbeatRequest
        do {
            body = try await Self.decode(HeartbeatRequest.self, request, context)
            try validate(body)
        } catch {
            store.metrics.heartbeat(.invalid)
            throw error
        }
        let outcome: HeartbeatOutcome
        do {
            outcome = try await store.heartbeat(name: name, instance: body.instance, held: body.held ?? [])
        } catch {
            store.metrics.heartbeat(.unavailable)
            throw APIError.unavailable("the lease store is unavailable: \(error)")
        }
        switch outcome {
        case .granted(let grant):
            store.metrics.heartbeat(.granted)
            let settings = store.settings
            return Response.json(
                HeartbeatResponse(
                    name: name.rawValue, instance: body.instance, number: grant.number, epoch: Epoch(rawValue: grant.epoch),
                    leaseTTLMillis: settings.leaseTTL.wholeMilliseconds,
                    heartbeatIntervalMillis: settings.heartbeatInterval.wholeMilliseconds,
                    assignmentVersion: grant.assignmentVersion, partitions: grant.granted,
                    partitionEpochs: grant.grantEpochs.map(Epoch.init(rawValue:)), revoked: grant.revoked,
                    consumerGroup: consumerGroupName(prefix: settings.consumerGroupPrefix, number: grant.number),
                    partitionCount: settings.partitionCount))
        case .conflict(let retryAfter):
            store.metrics.heartbeat(.conflict)
            throw APIError(
                status: .conflict, code: "conflict", message: "\(name) is held by another live instance", retryAfterMillis: retryAfter)
        case .exhausted(let retryAfter):
            store.metrics.heartbeat(.exhausted)
            throw APIError(
                status: .serviceUnavailable, code: "no_number_available",
                message: "all \(store.settings.maxWorkers) numbers are leased or quarantined", retryAfterMillis: retryAfter)
        }
    }

    private func release(_ request: Request, _ context: APIContext) async throws -> Response {
        let name = try Self.name(context)
        guard let instance = request.uri.queryParameters.get("instance"), InstanceID.isValid(instance) else {
            throw APIError.badRequest("invalid_instance", "?instance= is required: \(InstanceID.rule)")
        }
        switch try await storeCall({ try await store.release(name: name, instance: instance) }) {
        case .released:
            store.metrics.leasesReleased.increment()
            context.logger.info("released", metadata: ["name": "\(name)"])
            return Response(status: .noContent)
        case .conflict:
            throw APIError(status: .conflict, code: "conflict", message: "\(name) is held by another instance")
        case .unknown:
            throw APIError(status: .notFound, code: "not_found", message: "no live worker is named \(name)")
        }
    }

    /// `GET /{name}`: the name's number as plain text, leasing one if the name has none (podnum-compatible).
    private func shortcut(_ context: APIContext) async throws -> Response {
        let name = try Self.name(context)
        let outcome = try await storeCall { try await store.heartbeat(name: name, instance: Self.shortcutInstance, held: []) }
        let number: Int
        switch outcome {
        case .granted(let grant):
            number = grant.number
        case .conflict:
            // A real worker holds the name: report its number without touching its lease.
            guard let live = try await storeCall({ try await store.workers() }).first(where: { $0.name == name.rawValue }) else {
                throw APIError(status: .conflict, code: "conflict", message: "\(name) is changing hands; retry")
            }
            number = live.number
        case .exhausted(let retryAfter):
            throw APIError(
                status: .serviceUnavailable, code: "no_number_available", message: "all numbers are leased or quarantined",
                retryAfterMillis: retryAfter)
        }
        return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "\(number)\n")))
    }

    private func validate(_ body: HeartbeatRequest) throws {
        guard InstanceID.isValid(body.instance) else { throw APIError.badRequest("invalid_instance", InstanceID.rule) }
        let partitionCount = store.settings.partitionCount
        if let held = body.held {
            guard held.count <= partitionCount, held.allSatisfy({ (0..<partitionCount).contains($0) }) else {
                throw APIError.badRequest("invalid_held", "held must list partitions in 0..<\(partitionCount)")
            }
        }
        if let number = body.number, !(0..<store.settings.maxWorkers).contains(number) {
            throw APIError.badRequest("invalid_number", "number must be in 0..<\(store.settings.maxWorkers)")
        }
    }

    /// Runs a lease-store call; a Redis failure becomes 503 with Retry-After.
    private func storeCall<T>(_ body: () async throws -> T) async throws(APIError) -> T {
        do {
            return try await body()
        } catch {
            throw APIError.unavailable("the lease store is unavailable: \(error)")
        }
    }

    private static func name(_ context: APIContext) throws(APIError) -> WorkerName {
        guard let raw = context.parameters.get("name"), let name = WorkerName(rawValue: raw) else {
            throw APIError.badRequest("invalid_name", WorkerName.rule)
        }
        return name
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: APIContext) async throws -> T {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw APIError.badRequest("invalid_body", Self.describe(error))
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, let context): "\(path(context)) must be \(type)"
        case .valueNotFound(let type, let context): "\(path(context)) must be a \(type), not null"
        case .keyNotFound(let key, _): "\(key.stringValue) is required"
        case .dataCorrupted(let context):
            context.codingPath.isEmpty ? "the body is not valid JSON" : "\(path(context)): \(context.debugDescription)"
        @unknown default: "the body is not a valid request"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
