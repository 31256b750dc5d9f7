import Foundation
import JWTKit

/// The claims of a Kubernetes service-account token (a projected, pod-bound one carries the pod):
///
/// ```json
/// {"iss": "https://kubernetes.default.svc", "aud": ["rollcall"], "exp": 1767225600, "nbf": 1767222000,
///  "sub": "system:serviceaccount:payments:worker",
///  "kubernetes.io": {"namespace": "payments", "pod": {"name": "worker-7d9f-x2x4q", "uid": "…"},
///                    "serviceaccount": {"name": "worker", "uid": "…"}}}
/// ```
struct ServiceAccountClaims: JWTPayload, Equatable {
    struct Kubernetes: Codable, Sendable, Equatable {
        struct Reference: Codable, Sendable, Equatable {
            var name: String
            var uid: String?
        }

        var namespace: String?
        var pod: Reference?
        var serviceaccount: Reference?
    }

    var iss: String?
    var aud: AudienceClaim?
    var exp: Double?
    var nbf: Double?
    var iat: Double?
    var sub: String?
    var kubernetes: Kubernetes?

    enum CodingKeys: String, CodingKey {
        case iss, aud, exp, nbf, iat, sub
        case kubernetes = "kubernetes.io"
    }

    /// The signature is the collection's to check; the claims are `check`'s, which knows the settings.
    func verify(using algorithm: some JWTAlgorithm) async throws {}

    /// How far a token's `nbf` may lie ahead of this clock: a token the API server minted a moment ago on
    /// a clock slightly ahead. `exp` has none: the kubelet renews a token at 80 % of its lifetime.
    static let notBeforeLeeway = 5.0

    /// The caller the claims stand for, if they are meant for this control plane now.
    func check(issuer: String, audience: String, now: Double) throws(AccessRefusal) -> Caller {
        guard iss == issuer else {
            throw .unauthenticated("issuer", "the token's issuer \(iss.map { "\"\($0)\"" } ?? "(none)") is not \(issuer)")
        }
        guard let aud, aud.value.contains(audience) else {
            throw .unauthenticated("audience", "the token is not meant for audience \(audience) (its aud: \(aud?.value ?? []))")
        }
        guard let exp else { throw .unauthenticated("expired", "the token has no expiry (exp)") }
        guard now < exp else { throw .unauthenticated("expired", "the token expired \(Int(now - exp)) s ago") }
        if let nbf, now + Self.notBeforeLeeway < nbf {
            throw .unauthenticated("not_yet_valid", "the token is not valid for another \(Int(nbf - now)) s (nbf)")
        }
        guard let (namespace, account) = serviceAccount else {
            throw .unauthenticated("subject", "the token names no service account (kubernetes.io.serviceaccount or sub)")
        }
        return Caller(source: .serviceAccount(namespace: namespace, name: account), role: .worker, workerName: kubernetes?.pod?.name)
    }

    /// The namespace and name of the service account, from `kubernetes.io`, else from
    /// `sub` = `system:serviceaccount:NAMESPACE:NAME`.
    var serviceAccount: (String, String)? {
        if let namespace = kubernetes?.namespace, let name = kubernetes?.serviceaccount?.name { return (namespace, name) }
        guard let sub else { return nil }
        let parts = sub.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "system", parts[1] == "serviceaccount", !parts[2].isEmpty, !parts[3].isEmpty else {
            return nil
        }
        return (String(parts[2]), String(parts[3]))
    }
}

/// The part of a JWT's header looked at before its signature: which key, and which algorithm.
struct TokenHeader: Decodable, Equatable {
    var alg: String?
    var kid: String?

    /// The asymmetric algorithms a cluster signs with. `none` and the HMAC ones are refused before any
    /// key is looked at: a public key is no secret.
    static let accepted: Set<String> = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]

    /// The header of `token` (three base64url parts), or why it is not a JWT this verifier accepts.
    static func parse(_ token: Substring) throws(AccessRefusal) -> TokenHeader {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let data = Data(base64URL: parts[0]),
            let header = try? JSONDecoder().decode(TokenHeader.self, from: data)
        else { throw .unauthenticated("malformed", "the bearer token is not a known token nor a JWT") }
        guard let alg = header.alg, accepted.contains(alg) else {
            throw .unauthenticated(
                "algorithm",
                "the token's algorithm \(header.alg ?? "(none)") is not accepted (\(accepted.sorted().joined(separator: ", ")))")
        }
        guard parts[2].isEmpty == false else { throw .unauthenticated("signature", "the token has no signature") }
        return header
    }
}

extension Data {
    /// Base64url without padding (RFC 7515), as JWTs carry their parts.
    init?(base64URL text: Substring) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        self.init(base64Encoded: base64)
    }
}
