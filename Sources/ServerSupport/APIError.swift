import Coordination
import Foundation
import Hummingbird
import Logging
import NIOCore

/// An error response: `{"error": code, "message": text}` with a fitting status and, where a retry
/// can succeed, `Retry-After` in whole seconds.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var retryAfterMillis: Int64?
    /// The `WWW-Authenticate` fields of a 401, one per scheme that would be accepted (browsers read one
    /// challenge per field).
    public var challenges: [String]

    public init(status: HTTPResponse.Status, code: String, message: String, retryAfterMillis: Int64? = nil, challenges: [String] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfterMillis = retryAfterMillis
        self.challenges = challenges
    }

    public static func badRequest(_ code: String, _ message: String) -> APIError {
        APIError(status: .badRequest, code: code, message: message)
    }

    public static func unavailable(_ message: String) -> APIError {
        APIError(status: .serviceUnavailable, code: "store_unavailable", message: message, retryAfterMillis: 1000)
    }

    public func response() -> Response {
        var response = Response.json(ErrorBody(error: code, message: message), status: status)
        if let retryAfterMillis { response.headers[.retryAfter] = String(max(1, (retryAfterMillis + 999) / 1000)) }
        for challenge in challenges { response.headers.append(.init(name: .wwwAuthenticate, value: challenge)) }
        return response
    }
}
