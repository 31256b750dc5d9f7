import Coordination
import Foundation
import Hummingbird
import Logging
import NIOCore

/// An error response: `{"error": code, "message": text}` with a fitting status and, where a retry
/// can succeed, `Retry-After` in whole seconds.
struct APIError: Error, Sendable {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var retryAfterMillis: Int64?

    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(status: .badRequest, code: code, message: message) }

    static func unavailable(_ message: String) -> APIError {
        APIError(status: .serviceUnavailable, code: "store_unavailable", message: message, retryAfterMillis: 1000)
    }

    func response() -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfterMillis { headers[.retryAfter] = String(max(1, (retryAfterMillis + 999) / 1000)) }
        let body = (try? JSONEncoder().encode(ErrorBody(error: code, message: message))) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns every error a route throws into the JSON error shape and logs it; nothing escapes as a 500
/// without a body, and nothing crashes the process.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            log(error, request, context)
            return error.response()
        } catch is NIOTooManyBytesError {
            let apiError = APIError(
                status: .contentTooLarge, code: "body_too_large", message: "the body is larger than \(context.maxUploadSize) bytes")
            log(apiError, request, context)
            return apiError.response()
        } catch let error as HTTPError {
            let apiError = APIError(
                status: error.status, code: Self.code(for: error.status), message: error.body ?? error.status.reasonPhrase)
            log(apiError, request, context)
            return apiError.response()
        } catch {
            let apiError = APIError(status: .internalServerError, code: "internal", message: "\(error)")
            log(apiError, request, context)
            return apiError.response()
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
