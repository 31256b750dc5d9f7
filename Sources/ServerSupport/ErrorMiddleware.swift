import Coordination
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

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
        case let refusal as any CodedError:
            APIError(refusal)
        case is HTTPParserError:
            // The request's framing is broken (a bad chunk size, say): the client's mistake. The parser's
            // own words stay in the log, not in the answer.
            APIError.badRequest(.invalidRequest, "the request's HTTP framing is malformed")
        case is NIOTooManyBytesError:
            APIError(code: .bodyTooLarge, message: "the body is larger than \(maxUploadSize) bytes")
        case let error as HTTPError:
            APIError(status: error.status, code: code(for: error.status), message: error.body ?? error.status.reasonPhrase)
        default:
            APIError(code: .internal, message: "\(error)")
        }
    }

    private func log(_ error: APIError, _ request: Request, _ context: Context) {
        // A refusal below the log level costs nothing here: a flood of 429s is answered, not described.
        guard context.logger.logLevel <= (error.status.code >= 500 ? .warning : .info) else { return }
        let metadata: Logger.Metadata = [
            "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(error.status.code)",
            "error": "\(error.code.rawValue)",
            "message": "\(error.message)",
        ]
        if error.status.code >= 500 {
            context.logger.warning("request failed", metadata: metadata)
        } else {
            context.logger.info("request refused", metadata: metadata)
        }
    }

    private static func code(for status: HTTPResponse.Status) -> ErrorCode {
        switch status {
        case .notFound: .notFound
        case .contentTooLarge: .bodyTooLarge
        case .methodNotAllowed: .methodNotAllowed
        case .unauthorized: .unauthorized
        default: status.code >= 500 ? .internal : .badRequest
        }
    }
}
