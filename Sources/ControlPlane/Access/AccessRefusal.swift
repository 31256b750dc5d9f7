import Coordination
import ServerSupport

/// Why a request was refused access: 401 (no credentials, or ones that prove nothing) or 403 (a known
/// caller acting outside its role or name). `reason` is the metric label: a short, bounded word.
struct AccessRefusal: Error, Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case unauthenticated, forbidden
        /// The credentials cannot be checked now: the OIDC issuer's keys could not be fetched.
        case unavailable
    }

    var kind: Kind
    var reason: String
    var message: String

    static func unauthenticated(_ reason: String, _ message: String) -> AccessRefusal {
        AccessRefusal(kind: .unauthenticated, reason: reason, message: message)
    }

    static func forbidden(_ reason: String, _ message: String) -> AccessRefusal {
        AccessRefusal(kind: .forbidden, reason: reason, message: message)
    }

    var status: Int {
        switch kind {
        case .unauthenticated: 401
        case .forbidden: 403
        case .unavailable: 503
        }
    }

    static func unavailable(_ message: String) -> AccessRefusal {
        AccessRefusal(kind: .unavailable, reason: "issuer_unavailable", message: message)
    }
}
