import Hummingbird

/// Refuses a path with a trailing slash (`GET /pod-a/`) with a JSON 404 instead of letting the router
/// match it as the path without: `GET /pod-a/` must not lease `pod-a` by accident.
public struct CanonicalPathMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path.count > 1, path.hasSuffix("/") {
            throw APIError(code: .notFound, message: "no route for \(path): paths have no trailing slash")
        }
        return try await next(request, context)
    }
}
