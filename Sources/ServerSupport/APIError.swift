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

    public init(status: HTTPResponse.Status, code: String, message: String, retryAfterMillis: Int64? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfterMillis = retryAfterMillis
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
        return response
    }
}

/// Turns every error a route throws into the JSON error shape and logs it; nothing escapes as a 500
/// without a body, and nothing crashes the process.
public struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = Self.apiError(for: error, maxUploadSize: context.maxUploadSize)
            log(apiError, request, context)
            return apiError.response()
        }
    }

    /// The JSON error shape of anything a route or Hummingbird throws.
    private static func apiError(for error: any Error, maxUploadSize: Int) -> APIError {
        switch error {
        case let error as APIError:
            error
        case is NIOTooManyBytesError:
            APIError(status: .contentTooLarge, code: "body_too_large", message: "the body is larger than \(maxUploadSize) bytes")
        case let error as HTTPError:
            APIError(status: error.status, code: code(for: error.status), message: error.body ?? error.status.reasonPhrase)
        default:
            APIError(status: .internalServerError, code: "internal", message: "\(error)")
        }
    }

    private func log(_ error: APIError, _ request: Request, _ context: Context) {
        let metadata: Logger.Metadata = [
            "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(error.status.code)", "error": "\(error.code)",
            "message": "\(error.message)",
        ]
        if error.status.code >= 500 {
            context.logger.warning("request failed", metadata: metadata)
        } else {
            context.logger.info("request refused", metadata: metadata)
        }
    }

    private static func code(for status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not_found"
        case .contentTooLarge: "body_too_large"
        case .methodNotAllowed: "method_not_allowed"
        case .unauthorized: "unauthorized"
        default: status.code >= 500 ? "internal" : "bad_request"
        }
    }
}

extension Response {
    /// `value` as a JSON body.
    public static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let body = (try? JSONEncoder().encode(value)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// A Prometheus text exposition.
    public static func prometheus(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
