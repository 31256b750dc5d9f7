import AsyncHTTPClient
import Foundation
import JWTKit
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// Verifies the service-account tokens workers send (docs/design.md, "Who may act as whom"): the
/// signature against the issuer's keys (OIDC discovery: `{issuer}/.well-known/openid-configuration`
/// names `jwks_uri`), then issuer, audience, expiry and not-before. The keys are fetched on first use,
/// again every `keysMaxAge`, and at once for a key id they do not have (a rotation), at most once a
/// second and once per unknown id per `unknownKeyRetry`. A verified token is remembered until its
/// expiry or for `cacheTTL`, whichever is first, so a worker's heartbeat every second costs one
/// signature check a minute.
final class OIDCVerifier: Sendable {
    struct Settings: Sendable, Equatable {
        /// AUTH_OIDC_ISSUER: the `iss` of the tokens, and where discovery starts.
        var issuer: String
        /// AUTH_AUDIENCE: what the tokens' `aud` must include.
        var audience = "rollcall"
        /// AUTH_OIDC_CA_FILE: the CA that signs an https issuer's certificate (the cluster's).
        var caFile: String? = nil
        /// AUTH_OIDC_TOKEN_FILE: a bearer token for the discovery requests (the API server wants one).
        var tokenFile: String? = nil
        var keysMaxAge: Duration = .seconds(300)
        var unknownKeyRetry: Duration = .seconds(30)
        var minimumRefreshInterval: Duration = .seconds(1)
        var cacheTTL: Duration = .seconds(60)
        var fetchTimeout: Duration = .seconds(5)

        /// Refuses an issuer that is not https, but for plain http on loopback (how tests run one).
        static func checkURL(_ text: String, what: String) throws(AccessRefusal) -> URL {
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
                throw .unauthenticated("configuration", "\(what) \(text) is not an absolute URL")
            }
            let loopback = host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
            guard scheme == "https" || (scheme == "http" && loopback) else {
                throw .unauthenticated("configuration", "\(what) \(text) must be https (plain http only on loopback)")
            }
            return url
        }
    }

    let settings: Settings
    private let http: HTTPClient
    /// Whether `http` is this verifier's own (made for AUTH_OIDC_CA_FILE), to shut down with it.
    private let ownsClient: Bool
    private let keys: KeySet
    private let cache = Mutex<[String: Remembered]>([:])
    private let clock = ContinuousClock()
    private let logger: Logger
    /// The most verified tokens remembered; past it the memory starts over.
    static let cacheLimit = 100_000

    private struct Remembered {
        var caller: Caller
        var expiry: Double
        var until: ContinuousClock.Instant
    }

    init(settings: Settings, logger: Logger) throws {
        _ = try Settings.checkURL(settings.issuer, what: "AUTH_OIDC_ISSUER")
        self.settings = settings
        self.logger = logger
        if let caFile = settings.caFile {
            var configuration = HTTPClient.Configuration()
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            configuration.tlsConfiguration = tls
            configuration.redirectConfiguration = .disallow
            http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            ownsClient = true
        } else {
            http = .shared
            ownsClient = false
        }
        keys = KeySet(settings: settings, http: http, logger: logger)
    }

    func shutdown() async {
        if ownsClient { try? await http.shutdown() }
    }

    /// The caller `token` proves, or why it proves nothing.
    func caller(for token: Substring) async throws(AccessRefusal) -> Caller {
        let now = Date().timeIntervalSince1970
        let key = String(token)
        if let remembered = cache.withLock({ $0[key] }), remembered.until > clock.now {
            guard now < remembered.expiry else {
                throw .unauthenticated("expired", "the token expired \(Int(now - remembered.expiry)) s ago")
            }
            return remembered.caller
        }
        let header = try TokenHeader.parse(token)
        guard let kid = header.kid else { throw .unauthenticated("key", "the token's header names no key (kid)") }
        let collection = try await keys.collection(for: kid)
        let claims: ServiceAccountClaims
        do {
            claims = try await collection.verify(Array(token.utf8), as: ServiceAccountClaims.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw .unauthenticated("signature", "the token's signature does not verify with the issuer's key \(kid)")
        } catch {
            throw .unauthenticated("signature", "the token does not verify with the issuer's key \(kid): \(error)")
        }
        let caller = try claims.check(issuer: settings.issuer, audience: settings.audience, now: now)
        let expiry = claims.exp ?? now
        let until = clock.now.advanced(by: min(settings.cacheTTL, .milliseconds(Int64((expiry - now) * 1000))))
        cache.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[key] = Remembered(caller: caller, expiry: expiry, until: until)
        }
        return caller
    }

    /// The issuer's keys, fetched by discovery and swapped whole on each fetch.
    private actor KeySet {
        let settings: Settings
        let http: HTTPClient
        let logger: Logger
        private let clock = ContinuousClock()
        private var collection: JWTKeyCollection?
        private var kids: Set<String> = []
        private var fetchedAt: ContinuousClock.Instant?
        private var fetching: Task<Result<Fetched, AccessRefusal>, Never>?
        /// Key ids a fresh fetch did not have, and when: not fetched for again until `unknownKeyRetry`.
        private var missing: [String: ContinuousClock.Instant] = [:]

        struct Fetched: Sendable {
            var collection: JWTKeyCollection
            var kids: Set<String>
        }

        init(settings: Settings, http: HTTPClient, logger: Logger) {
            self.settings = settings
            self.http = http
            self.logger = logger
        }

        func collection(for kid: String) async throws(AccessRefusal) -> JWTKeyCollection {
            let now = clock.now
            let fresh = fetchedAt.map { now < $0.advanced(by: settings.keysMaxAge) } ?? false
            if let collection, fresh, kids.contains(kid) { return collection }
            if let collection, fresh, let missed = missing[kid], now < missed.advanced(by: settings.unknownKeyRetry) {
                _ = collection
                throw .unauthenticated("key", "the issuer has no key \(kid)")
            }
            switch await fetch() {
            case .success(let fetched):
                guard fetched.kids.contains(kid) else {
                    if missing.count > 10_000 { missing.removeAll() }
                    missing[kid] = clock.now
                    throw .unauthenticated("key", "the issuer has no key \(kid)")
                }
                return fetched.collection
            case .failure(let refusal):
                // The keys fetched before still verify what they signed.
                if let collection, kids.contains(kid) { return collection }
                throw refusal
            }
        }

        /// One fetch at a time; callers arriving during it share its result. At most one a
        /// `minimumRefreshInterval`.
        private func fetch() async -> Result<Fetched, AccessRefusal> {
            if let fetching { return await fetching.value }
            let wait = fetchedAt.map { $0.advanced(by: settings.minimumRefreshInterval) }
            let task = Task { [settings, http, logger] () -> Result<Fetched, AccessRefusal> in
                if let wait { try? await Task.sleep(until: wait, clock: ContinuousClock()) }
                do throws(AccessRefusal) {
                    return .success(try await Self.discover(settings: settings, http: http))
                } catch {
                    logger.error(
                        "the OIDC issuer's keys could not be fetched",
                        metadata: ["issuer": "\(settings.issuer)", "error": "\(error.message)"])
                    return .failure(error)
                }
            }
            fetching = task
            let result = await task.value
            fetching = nil
            fetchedAt = clock.now
            if case .success(let fetched) = result {
                if fetched.kids != kids {
                    logger.info("OIDC issuer keys", metadata: ["issuer": "\(settings.issuer)", "kids": "\(fetched.kids.sorted())"])
                }
                collection = fetched.collection
                kids = fetched.kids
                missing = missing.filter { !fetched.kids.contains($0.key) }
            }
            return result
        }

        private struct Discovery: Decodable {
            var issuer: String
            var jwks_uri: String
        }

        private static func discover(settings: Settings, http: HTTPClient) async throws(AccessRefusal) -> Fetched {
            let base = settings.issuer.hasSuffix("/") ? String(settings.issuer.dropLast()) : settings.issuer
            let discovery = try JSONDecoder.decode(
                Discovery.self, try await get(base + "/.well-known/openid-configuration", settings: settings, http: http),
                what: "the discovery document")
            guard discovery.issuer == settings.issuer else {
                throw .unavailable("the discovery document names issuer \(discovery.issuer), not \(settings.issuer)")
            }
            let jwksURL = try Settings.checkURL(discovery.jwks_uri, what: "jwks_uri").absoluteString
            let body = try await get(jwksURL, settings: settings, http: http)
            guard let set = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                let keys = set["keys"] as? [[String: Any]]
            else { throw .unavailable("the key set at \(jwksURL) is not a JWK set ({\"keys\": [...]})") }
            let collection = JWTKeyCollection()
            var kids: Set<String> = []
            // Key by key: one the collection cannot use (an encryption key, an unknown type) is skipped
            // rather than failing the whole set.
            for key in keys {
                guard let kid = key["kid"] as? String, let json = try? JSONSerialization.data(withJSONObject: key),
                    let jwk = try? JSONDecoder().decode(JWK.self, from: json), (try? await collection.add(jwk: jwk)) != nil
                else { continue }
                kids.insert(kid)
            }
            guard !kids.isEmpty else { throw .unavailable("the key set at \(jwksURL) has no signing key with a key id") }
            return Fetched(collection: collection, kids: kids)
        }

        private static func get(_ url: String, settings: Settings, http: HTTPClient) async throws(AccessRefusal) -> ByteBuffer {
            var request = HTTPClientRequest(url: url)
            if let tokenFile = settings.tokenFile {
                guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                    throw .unavailable("AUTH_OIDC_TOKEN_FILE=\(tokenFile) cannot be read")
                }
                request.headers.add(name: "Authorization", value: "Bearer \(token.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            request.headers.add(name: "Accept", value: "application/json")
            do {
                let response = try await http.execute(request, timeout: .nanoseconds(settings.fetchTimeout.nanoseconds))
                let body = try await response.body.collect(upTo: 1 << 20)
                guard response.status == .ok else { throw AccessRefusal.unavailable("\(url) answered \(response.status.code)") }
                return body
            } catch let refusal as AccessRefusal {
                throw refusal
            } catch {
                throw .unavailable("\(url) could not be read: \(error)")
            }
        }
    }
}

extension JSONDecoder {
    fileprivate static func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer, what: String) throws(AccessRefusal) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body.readableBytesView))
        } catch {
            throw .unavailable("\(what) is not what OIDC discovery describes: \(error)")
        }
    }
}
