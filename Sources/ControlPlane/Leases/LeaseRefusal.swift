import Coordination
import ServerSupport

/// Why the lease service refused a request: a domain outcome with its code and message. The HTTP
/// layer answers it with the code's status (`ErrorMiddleware`); the domain names no status.
enum LeaseRefusal: CodedError, Equatable {
    /// The request breaks a rule of the API (`code` is one of the `invalid_*`).
    case invalid(ErrorCode, String)
    /// A newer heartbeat of `instance` was applied already: this one changed nothing.
    case stale(instance: InstanceID)
    /// The name's lease is not of `kind`; a lease keeps its kind.
    case kindMismatch(WorkerName, LeaseKind)
    /// Another live instance holds the name; it may be free after `retryAfterMillis`.
    case heldByAnother(WorkerName, retryAfterMillis: Int64?)
    /// The name is between holders (its lease ended as it was read): retry.
    case changingHands(WorkerName)
    /// No live lease has the name.
    case unknownName(WorkerName)
    /// No such pool is declared and none may be made on first use (`why` says which rule refused it).
    case unknownPool(PoolName, why: String)
    /// Every number below `maxWorkers` is leased or quarantined.
    case exhausted(maxWorkers: Int, retryAfterMillis: Int64)
    /// The store lost state and waits it out.
    case recovering(retryAfterMillis: Int64)
    /// The change ran on the primary but did not reach enough replicas in time.
    case notReplicated(String)
    /// Redis did not answer, or answered outside a script's contract.
    case storeUnavailable(String)

    var code: ErrorCode {
        switch self {
        case .invalid(let code, _): code
        case .stale: .staleRequest
        case .kindMismatch: .kindMismatch
        case .heldByAnother, .changingHands: .conflict
        case .unknownName: .notFound
        case .unknownPool: .unknownPool
        case .exhausted: .noNumberAvailable
        case .recovering: .recovering
        case .notReplicated: .notReplicated
        case .storeUnavailable: .storeUnavailable
        }
    }

    var message: String {
        switch self {
        case .invalid(_, let message): message
        case .stale(let instance): "a newer heartbeat of instance \(instance) was already applied; this one changed nothing"
        case .kindMismatch(let name, let kind): "\(name)'s lease is not of kind \(kind.rawValue); a lease keeps its kind"
        case .heldByAnother(let name, _): "\(name) is held by another live instance"
        case .changingHands(let name): "\(name) is changing hands; retry"
        case .unknownName(let name): "no live worker is named \(name)"
        case .unknownPool(let pool, let why): "no pool is named \(pool): \(why)"
        case .exhausted(let maxWorkers, _): "all \(maxWorkers) numbers are leased or quarantined"
        case .recovering: "the lease store lost state; nothing a worker may still hold is handed out before the wait ends"
        case .notReplicated(let message), .storeUnavailable(let message): message
        }
    }

    var retryAfterMillis: Int64? {
        switch self {
        case .heldByAnother(_, let millis): millis
        case .exhausted(_, let millis), .recovering(let millis): millis
        case .notReplicated, .storeUnavailable: 1000
        case .invalid, .stale, .kindMismatch, .changingHands, .unknownName, .unknownPool: nil
        }
    }

    /// A lease-store failure as the caller sees it: `notReplicated` when the change ran on the primary
    /// but did not reach REDIS_MIN_REPLICAS replicas (the caller must not act on it), else unavailable.
    init(_ error: LeaseStoreError) {
        if case .redis(.notReplicated(let acknowledged, let required)) = error {
            self = .notReplicated("the change reached \(acknowledged) of \(required) required Redis replicas in time; retry")
        } else {
            self = .storeUnavailable("the lease store is unavailable: \(error)")
        }
    }
}
