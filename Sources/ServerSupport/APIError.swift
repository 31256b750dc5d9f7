import Coordination
import Foundation
import Hummingbird
import Logging
import NIOCore

/// A refusal the domain decides (a lease conflict, a store that is recovering): its code, message and
/// when to retry. The HTTP layer (`ErrorMiddleware`) answers it with the code's status; the domain
/// never names an HTTP status.
public protocol CodedError: Error, Sendable {
    var code: ErrorCode { get }
    var message: String { get }
    var retryAfterMillis: Int64? { get }
}

/// An error response: `{"error": code, "message": text}` with a fitting status and, where a retry
/// can succeed, `Retry-After` in whole seconds.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: ErrorCode
    public var message: String
    public var retryAfterMillis: Int64?
    /// The `WWW-Authenticate` fields of a 401, one per scheme that would be accepted (browsers read one
    /// challenge per field).
    public var challenges: [String]

    /// `status` defaults to the code's own (`ErrorCode.status`).
    public init(
        status: HTTPResponse.Status? = nil, code: ErrorCode, message: String, retryAfterMillis: Int64? = nil, challenges: [String] = []
    ) {
        self.status = status ?? HTTPResponse.Status(code: code.status)
        self.code = code
        self.message = message
        self.retryAfterMillis = retryAfterMillis
        self.challenges = challenges
    }

    /// The answer to a domain refusal.
    public init(_ refusal: any CodedError) {
        self.init(code: refusal.code, message: refusal.message, retryAfterMillis: refusal.retryAfterMillis)
    }

    public static func badRequest(_ code: ErrorCode, _ message: String) -> APIError {
        APIError(status: .badRequest, code: code, message: message)
    }

    public func response() -> Response {
        var response = Response.json(ErrorBody(error: code.rawValue, message: message), status: status)
        if let retryAfterMillis { response.headers[.retryAfter] = String(max(1, (retryAfterMillis + 999) / 1000)) }
        for challenge in challenges { response.headers.append(.init(name: .wwwAuthenticate, value: challenge)) }
        return response
    }
}
