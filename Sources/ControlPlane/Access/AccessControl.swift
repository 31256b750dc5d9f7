import Coordination
import Foundation
import Logging
import NIOCore
import ServerSupport
import Synchronization

/// Who may act as whom (docs/design.md, "Who may act as whom"): proves the caller of a request from
/// its credentials (a static token, or a service-account token the OIDC issuer signed), checks that
/// its role and name allow the request in its pool, and spends a token of its rate limit. Every
/// refusal is logged with the caller and counted in `rollcall_access_refusals_total`.
final class AccessControl: Sendable {
    struct Settings: Sendable {
        /// AUTH_TOKEN: the one shared token before roles; role `admin`.
        var sharedToken: String? = nil
        /// AUTH_TOKENS_FILE: static tokens per caller, re-read when the file changes.
        var tokensFile: String? = nil
        var oidc: OIDCVerifier.Settings? = nil
        /// RATE_LIMIT and RATE_LIMIT_BURST: every caller's, unless its pool sets its own.
        var rateLimit: RateLimit? = nil
        /// RATE_LIMIT_HOLD: a refused request is answered once the caller's next token is due, at most
        /// this long after, so a caller that ignores Retry-After is paced to about its limit per connection.
        var rateLimitHold: Duration = .seconds(1)

        /// Whether any credential is configured; without one every request is admitted as it was before
        /// AUTH_TOKEN (still under the rate limit).
        var requiresCredentials: Bool { sharedToken != nil || tokensFile != nil || oidc != nil }
    }

    let settings: Settings
    let oidc: OIDCVerifier?
    private let tokens: Mutex<StaticTokens>
    private let buckets = Mutex(RateBuckets())
    /// Refusals by the rate limit not logged yet, per bucket, and when the bucket's last line was.
    private let unlogged = Mutex<[String: (count: Int, since: Double)]>([:])
    private let metrics: ControlPlaneMetrics
    private let logger: Logger
    /// The pool's settings for a pool named in a path (nil: no such pool, or not made yet).
    private let poolSettings: @Sendable (String) -> LeaseSettings?

    init(
        settings: Settings, metrics: ControlPlaneMetrics, logger: Logger, poolSettings: @escaping @Sendable (String) -> LeaseSettings?
    ) throws {
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        self.poolSettings = poolSettings
        oidc = try settings.oidc.map { try OIDCVerifier(settings: $0, logger: logger) }
        tokens = Mutex(try Self.staticTokens(settings))
    }

    func shutdown() async { await oidc?.shutdown() }

    /// AUTH_TOKEN's entry and AUTH_TOKENS_FILE's.
    static func staticTokens(_ settings: Settings) throws -> StaticTokens {
        combined(settings, file: try settings.tokensFile.map(readTokensFile) ?? StaticTokens())
    }

    /// AUTH_TOKEN's entry with `file`'s entries over it.
    private static func combined(_ settings: Settings, file: StaticTokens) -> StaticTokens {
        (settings.sharedToken.map(StaticTokens.init(sharedToken:)) ?? StaticTokens()).merging(file)
    }

    static func readTokensFile(_ path: String) throws -> StaticTokens {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationProblem("AUTH_TOKENS_FILE=\(path) cannot be read: \(error.localizedDescription)")
        }
        do {
            return try StaticTokens.parse(text)
        } catch {
            throw ConfigurationProblem("AUTH_TOKENS_FILE=\(path): \(error.description)")
        }
    }

    /// Puts a re-read AUTH_TOKENS_FILE in force.
    func replaceTokens(_ new: StaticTokens) {
        let merged = Self.combined(settings, file: new)
        tokens.withLock { $0 = merged }
    }

    /// The caller of a request that does `action` in `pool`, or the error to answer it with.
    func admit(authorization: String?, action: Action, pool: String, peer: SocketAddress?) async throws(APIError) -> Caller {
        let caller: Caller
        do throws(AccessRefusal) {
            caller = try await authenticate(authorization)
        } catch {
            throw refuse(error, caller: nil, action: action, pool: pool, peer: peer)
        }
        let settings = poolSettings(pool)
        guard caller.permits(action, allowedAccounts: settings?.serviceAccounts) else {
            throw refuse(Self.forbidden(caller, action, settings), caller: caller, action: action, pool: pool, peer: peer)
        }
        if let limit = settings?.rateLimit ?? self.settings.rateLimit {
            do throws(APIError) {
                try limitRate(caller: caller, action: action, pool: pool, peer: peer, limit: limit)
            } catch {
                // Held, not computed: the connection waits without costing the replica anything more, and a
                // client that sends its next request only after an answer is slowed to the hold's pace.
                let hold = min(self.settings.rateLimitHold, .milliseconds(error.retryAfterMillis ?? 0))
                if hold > .zero { try? await Task.sleep(for: hold) }
                throw error
            }
        }
        return caller
    }

    private func authenticate(_ authorization: String?) async throws(AccessRefusal) -> Caller {
        guard settings.requiresCredentials else { return Caller(source: .open, role: .admin) }
        guard let authorization, !authorization.isEmpty else {
            throw .unauthenticated("missing", "credentials are required: a bearer token, or the Basic password")
        }
        guard let presented = AccessMiddleware.presentedToken(authorization) else {
            throw .unauthenticated("malformed", "the Authorization header is neither Bearer nor Basic")
        }
        if let caller = tokens.withLock({ $0.caller(presenting: presented) }) { return caller }
        guard let oidc, authorization.hasPrefix("Bearer ") else {
            throw .unauthenticated("unknown_token", "the token is not one this control plane knows")
        }
        return try await oidc.caller(for: Substring(authorization.dropFirst("Bearer ".count)))
    }

    private static func forbidden(_ caller: Caller, _ action: Action, _ settings: LeaseSettings?) -> AccessRefusal {
        guard case .actAs(let pool, let name) = action else { return .forbidden("role", "\(caller) may not do this") }
        switch caller.role {
        case .reader: return .forbidden("role", "\(caller) may read only; heartbeats and releases need role worker or admin")
        case .worker where caller.workerName != name:
            return .forbidden(
                "name",
                "\(caller) may act only as \(caller.workerName.map { "worker \($0)" } ?? "no worker (the token names no pod)"), not as \(name)"
            )
        default:
            let allowed = settings?.serviceAccounts?.sorted().joined(separator: ", ") ?? ""
            return .forbidden("service_account", "pool \(pool) admits the service accounts [\(allowed)] only; \(caller) is not one")
        }
    }

    private func limitRate(caller: Caller, action: Action, pool: String, peer: SocketAddress?, limit: RateLimit) throws(APIError) {
        var key = "\(pool)|\(caller.rateKey)"
        // A credential many share (AUTH_TOKEN, an admin's, none at all) counts per worker name it acts as,
        // and per peer without credentials, so one runaway holder does not throttle the rest.
        if case .actAs(_, let name) = action, caller.role != .worker { key += "|\(name)" }
        if case .open = caller.source { key += "|\(peer?.ipAddress ?? "")" }
        let now = Date().timeIntervalSince1970
        guard let wait = buckets.withLock({ $0.take(key, limit: limit, now: now) }) else { return }
        metrics.accessRefused(status: 429, reason: "rate_limit")
        let line = unlogged.withLock { unlogged -> Int? in
            var entry = unlogged[key] ?? (count: 0, since: 0)
            entry.count += 1
            defer { unlogged[key] = entry }
            guard now - entry.since >= 1 else { return nil }
            let count = entry.count
            entry = (count: 0, since: now)
            if unlogged.count > 10_000 { unlogged.removeAll() }
            return count
        }
        if let line {
            logger.warning(
                "rate limited", metadata: ["caller": "\(caller)", "pool": "\(pool)", "refused": "\(line)", "limit": "\(limit)"])
        }
        throw APIError(
            code: .rateLimited, message: "\(caller) is over its rate limit (\(limit)) in pool \(pool)",
            retryAfterMillis: Int64((wait * 1000).rounded(.up)))
    }

    private func refuse(_ refusal: AccessRefusal, caller: Caller?, action: Action, pool: String, peer: SocketAddress?) -> APIError {
        metrics.accessRefused(status: refusal.status, reason: refusal.reason)
        var metadata: Logger.Metadata = [
            "status": "\(refusal.status)", "reason": "\(refusal.reason)", "pool": "\(pool)", "peer": "\(peer?.ipAddress ?? "")",
            "message": "\(refusal.message)",
        ]
        if let caller { metadata["caller"] = "\(caller)" }
        if case .actAs(_, let name) = action { metadata["actingAs"] = "\(name)" }
        logger.warning("access refused", metadata: metadata)
        switch refusal.kind {
        case .unauthenticated:
            return APIError(code: .unauthorized, message: refusal.message, challenges: AccessMiddleware.challenges)
        case .forbidden: return APIError(code: .forbidden, message: refusal.message)
        case .unavailable: return APIError(code: .identityUnavailable, message: refusal.message, retryAfterMillis: 1000)
        }
    }
}

/// A setting that cannot be used, with why.
struct ConfigurationProblem: Error, Equatable, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
