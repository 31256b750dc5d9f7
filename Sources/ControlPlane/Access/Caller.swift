import Coordination

/// Who sent a request, once its credentials are checked.
struct Caller: Sendable, Hashable, CustomStringConvertible {
    /// What proved the caller: how it is named in logs and what its rate limit is counted against.
    enum Source: Sendable, Hashable {
        /// No credentials are configured at all: everyone is this caller.
        case open
        /// A static bearer token (AUTH_TOKEN, or one of AUTH_TOKENS_FILE), known by its entry's name.
        case token(name: String)
        /// A service-account token from the OIDC issuer.
        case serviceAccount(namespace: String, name: String)
    }

    var source: Source
    var role: Role
    /// The one worker name a `worker` caller may act as: the pod name of its token. Nil for a worker
    /// identity that is not bound to a pod (it may read only) and for the other roles.
    var workerName: String?

    /// `namespace/name` of a service-account caller.
    var serviceAccount: String? {
        if case .serviceAccount(let namespace, let name) = source { return "\(namespace)/\(name)" }
        return nil
    }

    /// Whether the caller may do `action`; for `actAs`, `allowedAccounts` is the pool's `serviceAccounts`
    /// (nil: any service account of the issuer).
    func permits(_ action: Action, allowedAccounts: Set<String>?) -> Bool {
        switch (role, action) {
        case (_, .read), (.admin, _): return true
        case (.reader, .actAs): return false
        case (.worker, .actAs(_, let name)):
            guard let workerName, workerName == name else { return false }
            guard let allowedAccounts, let serviceAccount else { return true }
            return allowedAccounts.contains(serviceAccount)
        }
    }

    var description: String {
        switch source {
        case .open: "anonymous"
        case .token(let name): "token \(name) (\(role.rawValue))"
        case .serviceAccount(let namespace, let name):
            "\(workerName.map { "pod \(namespace)/\($0)" } ?? "unbound token") of service account \(namespace)/\(name)"
        }
    }

    /// The bucket the rate limit counts this caller's requests in.
    var rateKey: String {
        switch source {
        case .open: "open"
        case .token(let name): "token:\(name)"
        case .serviceAccount(let namespace, let name): "sa:\(namespace)/\(name)/\(workerName ?? "")"
        }
    }
}
