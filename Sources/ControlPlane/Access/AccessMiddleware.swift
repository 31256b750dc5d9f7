import Foundation
import Hummingbird
import ServerSupport

/// Admits every request but the health routes through `AccessControl`: the caller's credentials,
/// `Authorization: Bearer <token>` or HTTP Basic with the token as the password (any user name), which
/// is what a browser sends for the status page after its login prompt; then its role, its name and its
/// rate limit. A 401 names both schemes in `WWW-Authenticate`, so the browser asks.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = ControlPlaneContext
    let access: AccessControl

    /// Open to anyone: probes and Prometheus (metrics carry no secret and no worker's data). A constant,
    /// not a set built for every request.
    static let openPaths: Set<String> = ["/healthz", "/readyz", "/metrics"]
    /// Basic first: a browser prompts for the first scheme it supports.
    static var challenges: [String] { [#"Basic realm="rollcall", charset="UTF-8""#, #"Bearer realm="rollcall""#] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !Self.openPaths.contains(request.uri.path) else { return try await next(request, context) }
        let pool = context.parameters.get("pool") ?? "default"
        var context = context
        context.caller = try await access.admit(
            authorization: request.headers[.authorization], action: Self.action(request, context), pool: pool,
            peer: context.remoteAddress)
        return try await next(request, context)
    }

    /// Every route that names a worker acts as it: a heartbeat, a release, and the number routes
    /// (`GET /{name}`, `GET .../numbers/{name}`), which lease a number for the name. Everything else reads.
    static func action(_ request: Request, _ context: Context) -> Action {
        // Parameters are set only for a matched route, so a `name` is always a worker's.
        guard let name = context.parameters.get("name") else { return .read }
        return .actAs(pool: context.parameters.get("pool") ?? "default", name: name)
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
