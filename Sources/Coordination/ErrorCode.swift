/// Every `error` code either server answers in its JSON error body, `{"error": code, "message": text}`:
/// the one vocabulary the servers throw, the client matches and docs/openapi.yaml lists
/// (`ErrorBody.error`'s enum, checked by `ErrorCodeTests`). A client treats an unknown code by its
/// HTTP status.
public enum ErrorCode: String, CaseIterable, Codable, Hashable, Sendable {
    // 400: the request is malformed; sending it again cannot succeed.
    case badRequest = "bad_request"
    case invalidRequest = "invalid_request"
    case invalidBody = "invalid_body"
    case invalidName = "invalid_name"
    case invalidInstance = "invalid_instance"
    case invalidHeld = "invalid_held"
    case invalidSequence = "invalid_sequence"
    case invalidGeneration = "invalid_generation"
    case invalidNumber = "invalid_number"
    case invalidCount = "invalid_count"
    case invalidPool = "invalid_pool"
    case invalidLoad = "invalid_load"
    // 401, 403, 404, 405, 413, 429.
    /// No credentials, or ones that prove nothing (unknown, expired, badly signed, meant for another).
    case unauthorized = "unauthorized"
    /// A known caller acting outside its role, its worker name or its pool's service accounts.
    case forbidden = "forbidden"
    case notFound = "not_found"
    /// No pool of that name is declared, and none may be made on first use.
    case unknownPool = "unknown_pool"
    case methodNotAllowed = "method_not_allowed"
    case bodyTooLarge = "body_too_large"
    /// The caller is over its rate limit: retry after Retry-After.
    case rateLimited = "rate_limited"
    // 409: the lease state refuses this request now.
    /// Another live instance holds the name (or it is changing hands).
    case conflict = "conflict"
    /// A newer heartbeat of the instance was applied already: this one changed nothing.
    case staleRequest = "stale_request"
    /// The lease is of the other kind (worker or number-only).
    case kindMismatch = "kind_mismatch"
    // 503: retry after Retry-After.
    /// Every number is leased or quarantined.
    case noNumberAvailable = "no_number_available"
    /// The lease store lost state and waits it out: a worker that believed it held a lease must stop.
    case recovering = "recovering"
    /// Redis did not answer.
    case storeUnavailable = "store_unavailable"
    /// The change ran on the primary but did not reach REDIS_MIN_REPLICAS replicas: do not act on it.
    case notReplicated = "not_replicated"
    /// The worker holds no safe lease, so it issues no Snowflake id.
    case leaseUnsafe = "lease_unsafe"
    /// The worker's clock moved backwards beyond what it waits out.
    case clock = "clock"
    /// The caller's token cannot be checked now: the OIDC issuer's keys could not be fetched.
    case identityUnavailable = "identity_unavailable"
    // 500.
    case `internal` = "internal"

    /// The HTTP status the code is answered with (`bad_request` also stands for any other 4xx).
    public var status: Int {
        switch self {
        case .badRequest, .invalidRequest, .invalidBody, .invalidName, .invalidInstance, .invalidHeld, .invalidSequence,
            .invalidGeneration, .invalidNumber, .invalidCount, .invalidPool, .invalidLoad:
            400
        case .unauthorized: 401
        case .forbidden: 403
        case .notFound, .unknownPool: 404
        case .methodNotAllowed: 405
        case .bodyTooLarge: 413
        case .rateLimited: 429
        case .conflict, .staleRequest, .kindMismatch: 409
        case .noNumberAvailable, .recovering, .storeUnavailable, .notReplicated, .leaseUnsafe, .clock, .identityUnavailable: 503
        case .internal: 500
        }
    }
}
