import Hummingbird
import ServerSupport

/// With a token configured, every route but `/healthz`, `/readyz` and `/metrics` needs
/// `Authorization: Bearer <token>`; the comparison takes the same time wherever the bytes differ.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String
    static var openPaths: Set<String> { ["/healthz", "/readyz", "/metrics"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !Self.openPaths.contains(request.uri.path) else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), constantTimeEquals(Array(header.utf8.dropFirst(prefix.utf8.count)), Array(token.utf8)) else {
            throw APIError(status: .unauthorized, code: "unauthorized", message: "missing or wrong bearer token")
        }
        return try await next(request, context)
    }
}
