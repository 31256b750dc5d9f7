import CryptoExtras
import Foundation
import Hummingbird
import HummingbirdTesting
import JWTKit
import ServerSupport
import Synchronization
import Testing

@testable import ControlPlane

/// A local OIDC issuer on loopback, as a cluster's API server is one: a discovery document and a key
/// set, with keys this test makes. The control plane verifies its tokens by the real path (discovery,
/// key set, signature, claims); nothing is bypassed.
final class TestIssuer: Sendable {
    /// The key ids the key set serves now, and every key made, by id, as JWK fields.
    private let state = Mutex<(served: [String], keys: [String: [String: String]], url: String, fetches: Int)>(([], [:], "", 0))
    private let signers = JWTKeyCollection()

    /// The issuer's URL (`http://127.0.0.1:PORT`), once `serve` runs.
    var url: String { state.withLock { $0.url } }
    /// How many times the key set was fetched.
    var keySetFetches: Int { state.withLock { $0.fetches } }

    /// Makes an RS256 key (what clusters sign with by default) and serves it.
    func addRSAKey(_ kid: String) async throws {
        let key = try Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
        let (modulus, exponent) = try key.publicKey.getKeyPrimitives()
        await signers.add(rsa: key, digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
        serve(kid, ["kty": "RSA", "alg": "RS256", "use": "sig", "n": modulus.base64URL, "e": exponent.base64URL])
    }

    /// Makes an ES256 key and serves it.
    func addECKey(_ kid: String) async throws {
        let key = ES256PrivateKey()
        let parameters = try #require(key.publicKey.parameters)
        await signers.add(ecdsa: key, kid: JWKIdentifier(string: kid))
        serve(kid, ["kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "x": parameters.x, "y": parameters.y])
    }

    /// Makes a key that signs but is never served (an attacker's).
    func addUnservedKey(_ kid: String) async {
        await signers.add(ecdsa: ES256PrivateKey(), kid: JWKIdentifier(string: kid))
    }

    /// The key set serves only `kids` from now on (a rotation).
    func serveOnly(_ kids: [String]) { state.withLock { $0.served = kids } }

    private func serve(_ kid: String, _ fields: [String: String]) {
        state.withLock { state in
            state.keys[kid] = fields.merging(["kid": kid]) { $1 }
            state.served.append(kid)
        }
    }

    /// Claims of a pod-bound token for `pod` of service account `namespace/account`, valid now.
    func claims(
        pod: String?, namespace: String = "team", account: String = "worker", audience: [String] = ["rollcall"], issuer: String? = nil,
        expiresIn: Double = 3600, notBefore: Double = -10
    ) -> ServiceAccountClaims {
        let now = Date().timeIntervalSince1970
        return ServiceAccountClaims(
            iss: issuer ?? url, aud: AudienceClaim(value: audience), exp: now + expiresIn, nbf: now + notBefore, iat: now,
            sub: "system:serviceaccount:\(namespace):\(account)",
            kubernetes: .init(
                namespace: namespace, pod: pod.map { .init(name: $0, uid: UUID().uuidString) },
                serviceaccount: .init(name: account, uid: "sa-uid")))
    }

    /// `claims` signed with the key `kid`.
    func sign(_ claims: ServiceAccountClaims, kid: String = "k1") async throws -> String {
        try await signers.sign(claims, kid: JWKIdentifier(string: kid))
    }

    /// A pod-bound token for `pod`, signed with `kid`.
    func token(pod: String?, kid: String = "k1", namespace: String = "team", account: String = "worker") async throws -> String {
        try await sign(claims(pod: pod, namespace: namespace, account: account), kid: kid)
    }

    /// Runs `body` while the issuer serves on a loopback port.
    func serve<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let router = Router()
        router.get("/.well-known/openid-configuration") { _, _ in
            let url = self.url
            return Response.json(["issuer": url, "jwks_uri": "\(url)/openid/v1/jwks"])
        }
        router.get("/openid/v1/jwks") { _, _ in
            let keys = self.state.withLock { state in
                state.fetches += 1
                return state.served.compactMap { state.keys[$0] }
            }
            return Response.json(["keys": keys])
        }
        return try await Application(router: router).test(.live) { client in
            let port = try #require(client.port)
            self.state.withLock { $0.url = "http://127.0.0.1:\(port)" }
            return try await body()
        }
    }
}

extension Data {
    var base64URL: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
