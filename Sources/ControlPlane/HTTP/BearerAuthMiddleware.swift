import Foundation
import Hummingbird
import ServerSupport

/// With a token configured, every route but `/healthz`, `/readyz` and `/metrics` needs the token:
/// `Authorization: Bearer <token>`, or HTTP Basic with the token as the password (any user name), which
/// is what a browser sends for the status page after its login prompt. A refusal names both schemes in
/// `WWW-Authenticate`, so the browser asks. The comparison takes the same time wherever the bytes differ.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String
    static var openPaths: Set<String> { ["/healthz", "/readyz", "/metrics"] }
    /// Basic first: a browser prompts for the first scheme it supports.
    static var challenges: [String] { [#"Basic realm="rollcall", charset="UTF-8""#, #"Bearer realm="rollcall""#] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !Self.openPaths.contains(request.uri.path) else { return try await next(request, context) }
        guard let presented = Self.presentedToken(request.headers[.authorization] ?? ""), constantTimeEquals(presented, Array(token.utf8))
        else {
            throw APIError(
                code: .unauthorized, message: "missing or wrong token (a bearer token, or the Basic password)", challenges: Self.challenges)
        }
        return try await next(request, context)
    }

    /// The token in a `Bearer` header, or the password of a `Basic` one.
    static func presentedToken(_ header: String) -> [UInt8]? {
        if header.hasPrefix("Bearer ") { return Array(header.utf8.dropFirst("Bearer ".utf8.count)) }
        guard header.hasPrefix("Basic "), let decoded = Data(base64Encoded: String(header.dropFirst("Basic ".count))),
            let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
        else { return nil }
        return Array(decoded[decoded.index(after: colon)...])
    }
}
