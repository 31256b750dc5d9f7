import Coordination
import Foundation
import Hummingbird
import NIOCore
import ServerSupport

/// The control plane's HTTP API (docs/design.md, "HTTP API"): decoding and encoding only; every
/// decision and every metric is `LeaseService`'s. Every pool's routes are under `/v1/pools/{pool}/`;
/// the routes without a pool are the `default` pool's, as they were before pools.
struct Routes: Sendable {
    let pools: PoolDirectory
    let readiness: ReadinessCheck
    let metrics: ControlPlaneMetrics

    func register(on router: Router<ControlPlaneContext>) {
        router.get("/healthz") { _, _ in Response.json(["status": "ok"]) }
        router.get("/readyz") { _, _ in Response.json(try await readiness.check()) }
        router.get("/metrics") { _, _ in Response.prometheus(metrics.exposition()) }
        router.get("/v1/openapi.yaml") { _, _ in Response.openAPIDocument() }
        router.get("/v1/pools") { _, _ in Response.json(try await pools.list()) }
        registerPool(on: router.group("/v1/pools/:pool")) { context async throws(LeaseRefusal) in
            try await pools.service(named: context.parameters.get("pool"))
        }
        registerPool(on: router.group("/v1")) { _ async throws(LeaseRefusal) in try await pools.service(.default) }
        // `_` never begins a worker name (a DNS-1123 subdomain), so `GET /{name}` keeps every valid name.
        router.get("/_status") { _, _ in StatusPage.response() }
        router.get("/:name") { _, context in
            Self.number(try await pools.service(.default).number(rawName: context.parameters.get("name")))
        }
    }

    /// One pool's routes on `group`; `pool` finds the pool's service for a request.
    private func registerPool(
        on group: RouterGroup<ControlPlaneContext>,
        pool: @escaping @Sendable (ControlPlaneContext) async throws(LeaseRefusal) -> LeaseService
    ) {
        group.post("workers/:name/heartbeat") { request, context in
            let leases = try await pool(context)
            return Response.json(
                encoded: HeartbeatResponseBody.encode(
                    try await leases.heartbeat(rawName: context.parameters.get("name")) {
                        try await Self.decode(HeartbeatRequest.self, request, context)
                    }))
        }
        group.delete("workers/:name") { request, context in
            let leases = try await pool(context)
            try await leases.release(rawName: context.parameters.get("name"), instance: request.uri.queryParameters.get("instance"))
            context.logger.info(
                "released",
                metadata: [
                    "pool": "\(leases.pool)", "name": "\(context.parameters.get("name") ?? "")",
                    "by": "\(context.caller.map { "\($0)" } ?? "")",
                ])
            return Response(status: .noContent)
        }
        group.get("workers") { _, context in Response.json(WorkerList(workers: try await pool(context).workers())) }
        group.get("layout") { _, context in Response.json(try await pool(context).layout()) }
        group.get("overview") { _, context in Response.json(try await pool(context).overview()) }
        group.get("plan") { request, context in
            let leases = try await pool(context)
            let query = request.uri.queryParameters
            return Response.json(
                try await leases.plan(
                    PlanScenario(
                        workers: query.get("workers"), drain: query.get("drain"), maxWorkers: leases.settings.maxWorkers)))
        }
        group.get("fleet") { _, context in Response.json(try await pool(context).fleet()) }
        group.get("numbers/:name") { _, context in
            Self.number(try await pool(context).number(rawName: context.parameters.get("name")))
        }
    }

    /// The podnum shortcut's answer: the number and a line break, as text.
    private static func number(_ number: WorkerNumber) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "\(number)\n")))
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: ControlPlaneContext) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch let error as NIOTooManyBytesError {
            throw error
        } catch {
            // Broken chunked framing, or a client that went away mid-body: its mistake, not ours.
            throw APIError.badRequest(.invalidBody, "the body could not be read: its HTTP framing is malformed or it was cut off")
        }
        if let problem = StrictJSON.problem(in: buffer.readableBytesView) {
            throw APIError.badRequest(.invalidBody, "the body is not valid JSON (RFC 8259): \(problem)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw APIError.badRequest(.invalidBody, Self.describe(error))
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
