import Coordination
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWTKit
import ServerSupport
import TestSupport
import Testing

@testable import ControlPlane

@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct AuthTests {
    @Test("with AUTH_TOKEN set, /v1 routes and GET /{name} need the bearer token; health and metrics stay open")
    func bearerToken() async throws {
        var configuration = try ControlPlaneConfiguration.test()
        configuration.authToken = "s3cret-token"
        try await ControlPlaneHarness(configuration).test { client async throws in
            #expect(try await client.heartbeat("pod-a", body: #"{"instance": "i1"}"#).status == .unauthorized)
            #expect(
                try await client.heartbeat("pod-a", body: #"{"instance": "i1"}"#, headers: [.authorization: "Bearer wrong"]).status
                    == .unauthorized)
            #expect(try await client.get("/v1/workers").errorCode == "unauthorized")
            #expect(try await client.get("/pod-a").status == .unauthorized)
            #expect(
                try await client.heartbeat("pod-a", body: #"{"instance": "i1"}"#, headers: [.authorization: "Bearer s3cret-token"]).status
                    == .ok)
            #expect(try await client.get("/v1/workers", headers: [.authorization: "Bearer s3cret-token"]).status == .ok)
            #expect(try await client.get("/healthz").status == .ok)
            #expect(try await client.get("/readyz").status == .ok)
            #expect(try await client.get("/metrics").status == .ok)
        }
    }

    @Test("a static token matches exactly: not a prefix, not a longer token, not the empty one")
    func exactMatch() throws {
        let tokens = StaticTokens(sharedToken: "abcdefgh")
        #expect(tokens.caller(presenting: Array("abcdefgh".utf8))?.role == .admin)
        for wrong in ["abcdefg", "abcdefghi", "", "abcdefgH"] { #expect(tokens.caller(presenting: Array(wrong.utf8)) == nil) }
    }
}

/// Headers with a bearer token.
private func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

extension TestClientProtocol {
    /// A heartbeat as `name` in `pool` (nil: the routes without a pool) with `headers`.
    fileprivate func beat(_ name: String, pool: String? = nil, _ headers: HTTPFields, instance: String = "i1") async throws -> TestResponse
    {
        let path = pool.map { "/v1/pools/\($0)/workers/\(name)/heartbeat" } ?? "/v1/workers/\(name)/heartbeat"
        return try await execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: #"{"instance": "\#(instance)"}"#)) {
            $0
        }
    }

    fileprivate func release(_ name: String, _ headers: HTTPFields, instance: String = "i1") async throws -> TestResponse {
        try await execute(uri: "/v1/workers/\(name)?instance=\(instance)", method: .delete, headers: headers) { $0 }
    }
}

extension TestResponse {
    /// The status and the error code, for one `#expect` that shows both when it fails.
    fileprivate var outcome: String { "\(status.code) \(errorCode ?? "")" }
    /// The error body's message (its JSON escapes undone).
    fileprivate var message: String {
        (try? JSONDecoder().decode(ErrorBody.self, from: Data(buffer: body)).message) ?? String(buffer: body)
    }
}

@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct ServiceAccountTokenTests {
    /// A control plane that verifies tokens of `issuer`, with `change` applied to its configuration.
    private func harness(_ issuer: TestIssuer, _ change: (inout ControlPlaneConfiguration) -> Void = { _ in }) throws
        -> ControlPlaneHarness
    {
        var configuration = try ControlPlaneConfiguration.test()
        configuration.access.oidc = OIDCVerifier.Settings(issuer: issuer.url)
        change(&configuration)
        return try ControlPlaneHarness(configuration)
    }

    @Test("a pod's token heartbeats and releases as its own pod name only; another pod's name is 403")
    func ownNameOnly() async throws {
        let issuer = TestIssuer()
        try await issuer.addRSAKey("k1")
        try await issuer.serve {
            let podA = try await issuer.token(pod: "pod-a")
            try await harness(issuer).test { client in
                #expect(try await client.beat("pod-a", bearer(podA)).outcome == "200 ")
                let asB = try await client.beat("pod-b", bearer(podA))
                #expect(asB.outcome == "403 forbidden")
                #expect(asB.message.contains("may act only as worker pod-a, not as pod-b"))
                #expect(try await client.release("pod-b", bearer(podA)).outcome == "403 forbidden")
                // Reads are every caller's.
                #expect(try await client.get("/v1/workers", headers: bearer(podA)).status == .ok)
                #expect(try await client.release("pod-a", bearer(podA)).status == .noContent)
            }
        }
    }

    @Test("refused with 401: expired, not yet valid, wrong audience, wrong issuer, unsigned, tampered, an unknown key, garbage")
    func badTokens() async throws {
        let issuer = TestIssuer()
        try await issuer.addRSAKey("k1")
        await issuer.addUnservedKey("stranger")
        try await issuer.serve {
            let good = try await issuer.token(pod: "pod-a")
            let parts = good.split(separator: ".").map(String.init)
            // The payload re-encoded for pod-b, with pod-a's signature kept.
            var forged = issuer.claims(pod: "pod-b")
            forged.exp = try JSONDecoder().decode(ServiceAccountClaims.self, from: Data(base64URL: Substring(parts[1]))!).exp
            let forgedPayload = try JSONEncoder().encode(forged).base64URL
            let unsignedHeader = Data(#"{"alg":"none","kid":"k1","typ":"JWT"}"#.utf8).base64URL
            let hmacHeader = Data(#"{"alg":"HS256","kid":"k1","typ":"JWT"}"#.utf8).base64URL
            let cases: [(String, String, String)] = [
                ("expired", try await issuer.sign(issuer.claims(pod: "pod-a", expiresIn: -30)), "expired"),
                ("not yet valid", try await issuer.sign(issuer.claims(pod: "pod-a", notBefore: 600)), "not valid for another"),
                ("wrong audience", try await issuer.sign(issuer.claims(pod: "pod-a", audience: ["kubernetes"])), "audience"),
                ("wrong issuer", try await issuer.sign(issuer.claims(pod: "pod-a", issuer: "https://elsewhere.example")), "issuer"),
                ("alg none", "\(unsignedHeader).\(parts[1]).", "algorithm none is not accepted"),
                ("alg none, signature kept", "\(unsignedHeader).\(parts[1]).\(parts[2])", "algorithm none is not accepted"),
                ("HS256 with the public key", "\(hmacHeader).\(parts[1]).\(parts[2])", "algorithm HS256 is not accepted"),
                ("tampered payload", "\(parts[0]).\(forgedPayload).\(parts[2])", "signature"),
                ("tampered signature", "\(parts[0]).\(parts[1]).\(parts[2].dropLast(4))AAAA", "signature"),
                ("a key the issuer does not serve", try await issuer.token(pod: "pod-a", kid: "stranger"), "has no key stranger"),
                ("not a JWT", "just-some-words", "not a known token nor a JWT"),
                ("two parts", "\(parts[0]).\(parts[1])", "not a known token nor a JWT"),
            ]
            try await harness(issuer).test { client in
                for (what, token, message) in cases {
                    let response = try await client.beat("pod-a", bearer(token))
                    #expect(response.outcome == "401 unauthorized", "\(what)")
                    #expect(response.message.contains(message), "\(what): \(String(buffer: response.body))")
                    #expect(response.headers[values: .wwwAuthenticate].count == 2, "\(what)")
                }
                #expect(try await client.beat("pod-a", [:]).outcome == "401 unauthorized")
                // None of them leased anything; the good token still works.
                #expect(try await client.get("/v1/workers", headers: bearer(good)).body.readableBytes > 0)
                #expect(try await client.beat("pod-a", bearer(good)).status == .ok)
            }
            #expect(true)
        }
    }

    @Test("a rotated key is accepted once the issuer serves it: the key set is fetched again for an unknown key id")
    func keyRotation() async throws {
        let issuer = TestIssuer()
        try await issuer.addRSAKey("k1")
        try await issuer.serve {
            try await harness(issuer).test { client in
                #expect(try await client.beat("pod-a", bearer(try await issuer.token(pod: "pod-a"))).status == .ok)
                let fetches = issuer.keySetFetches
                try await issuer.addECKey("k2")
                issuer.serveOnly(["k2"])
                let rotated = try await issuer.token(pod: "pod-a", kid: "k2")
                #expect(try await client.beat("pod-a", bearer(rotated)).outcome == "200 ")
                #expect(issuer.keySetFetches == fetches + 1)
                // Known now: no further fetch.
                #expect(try await client.beat("pod-b", bearer(try await issuer.token(pod: "pod-b", kid: "k2"))).status == .ok)
                #expect(issuer.keySetFetches == fetches + 1)
            }
        }
    }

    @Test("a pool with serviceAccounts admits its accounts' pods only; a token bound to no pod may read but not heartbeat")
    func serviceAccounts() async throws {
        let issuer = TestIssuer()
        try await issuer.addRSAKey("k1")
        try await issuer.serve {
            let pools = try harness(issuer) { configuration in
                configuration = configuration.declaring([
                    ("payments", { $0.serviceAccounts = ["team/payments"] }), ("default", { _ in }),
                ])
            }
            try await pools.test { client in
                let payments = try await issuer.token(pod: "pay-1", account: "payments")
                let other = try await issuer.token(pod: "pay-2", account: "worker")
                let otherNamespace = try await issuer.token(pod: "pay-3", namespace: "elsewhere", account: "payments")
                #expect(try await client.beat("pay-1", pool: "payments", bearer(payments)).outcome == "200 ")
                let refused = try await client.beat("pay-2", pool: "payments", bearer(other))
                #expect(refused.outcome == "403 forbidden")
                #expect(refused.message.contains("admits the service accounts [team/payments] only"))
                #expect(try await client.beat("pay-3", pool: "payments", bearer(otherNamespace)).outcome == "403 forbidden")
                // A pool without the list takes any account of the issuer.
                #expect(try await client.beat("pay-2", bearer(other)).outcome == "200 ")
                let unbound = try await issuer.token(pod: nil)
                #expect(try await client.get("/v1/layout", headers: bearer(unbound)).status == .ok)
                let unboundBeat = try await client.beat("pod-x", bearer(unbound))
                #expect(unboundBeat.outcome == "403 forbidden")
                #expect(unboundBeat.message.contains("no worker (the token names no pod)"))
            }
        }
    }

    @Test("an issuer that cannot be reached: 503 identity_unavailable with Retry-After, and static tokens still work")
    func issuerDown() async throws {
        var configuration = try ControlPlaneConfiguration.test()
        configuration.access.oidc = OIDCVerifier.Settings(issuer: "http://127.0.0.1:9")
        configuration.authToken = "admin-token-0123456789"
        try await ControlPlaneHarness(configuration).test { client in
            let issuer = TestIssuer()
            try await issuer.addRSAKey("k1")
            let response = try await client.beat("pod-a", bearer(try await issuer.token(pod: "pod-a")))
            #expect(response.outcome == "503 identity_unavailable")
            #expect(response.headers[.retryAfter] == "1")
            #expect(try await client.beat("pod-a", bearer("admin-token-0123456789")).status == .ok)
        }
    }
}

@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct RoleTests {
    static let tokensFile = """
        tokens:
          - {name: ops, role: admin, token: admin-token-0123456789}
          - {name: dashboard, role: reader, token: reader-token-0123456789}
          - {name: batch-7, role: worker, sha256: \(Self.sha256("worker-token-0123456789"))}
        """

    static func sha256(_ text: String) -> String {
        StaticTokens.hash(text.utf8).map { String(format: "%02x", $0) }.joined()
    }

    @Test("roles: a reader reads but cannot heartbeat or release; a worker token acts as its own name; an admin releases any name")
    func roles() async throws {
        let folder = try SecretFolder()
        var configuration = try ControlPlaneConfiguration.test()
        configuration.access.tokensFile = try folder.write("tokens.yaml", Self.tokensFile)
        try await ControlPlaneHarness(configuration).test { client in
            let reader = bearer("reader-token-0123456789")
            let worker = bearer("worker-token-0123456789")
            let admin = bearer("admin-token-0123456789")
            for path in ["/v1/workers", "/v1/layout", "/v1/overview", "/v1/pools", "/v1/fleet", "/_status", "/v1/openapi.yaml"] {
                #expect(try await client.get(path, headers: reader).status == .ok, "\(path)")
            }
            let readerBeat = try await client.beat("batch-7", reader)
            #expect(readerBeat.outcome == "403 forbidden")
            #expect(readerBeat.message.contains("may read only"))
            #expect(try await client.beat("batch-7", worker).outcome == "200 ")
            #expect(try await client.beat("batch-8", worker).outcome == "403 forbidden")
            #expect(try await client.release("batch-7", reader).outcome == "403 forbidden")
            #expect(try await client.beat("pod-z", admin).outcome == "200 ")
            // The admin releases a lease it does not hold: batch-7's (by its instance).
            #expect(try await client.release("batch-7", admin).status == .noContent)
            let workers = try JSONDecoder().decode(
                WorkerList.self, from: Data(buffer: try await client.get("/v1/workers", headers: admin).body))
            #expect(workers.workers.map(\.name) == ["pod-z"])
            // The number routes lease a number for the name they name: acting as it, not reading.
            #expect(try await client.get("/batch-7", headers: reader).outcome == "403 forbidden")
            #expect(try await client.get("/v1/numbers/batch-7", headers: reader).outcome == "403 forbidden")
            #expect(try await client.get("/v1/numbers/batch-8", headers: worker).outcome == "403 forbidden")
            #expect(try await client.get("/v1/numbers/batch-7", headers: worker).status == .ok)
            #expect(try await client.beat("batch-7", bearer("not-a-token")).outcome == "401 unauthorized")
        }
    }

    @Test("each refusal is counted in rollcall_access_refusals_total by status and reason")
    func refusalsCounted() async throws {
        let folder = try SecretFolder()
        var configuration = try ControlPlaneConfiguration.test()
        configuration.access.tokensFile = try folder.write("tokens.yaml", Self.tokensFile)
        let harness = try ControlPlaneHarness(configuration)
        try await harness.test { client in
            _ = try await client.beat("batch-7", [:])
            _ = try await client.beat("batch-7", bearer("nope"))
            _ = try await client.beat("batch-7", bearer("nope"))
            _ = try await client.beat("batch-7", bearer("reader-token-0123456789"))
        }
        let text = harness.metricsText
        #expect(text.contains(#"rollcall_access_refusals_total{status="401",reason="missing"} 1"#), "\(text)")
        #expect(text.contains(#"rollcall_access_refusals_total{status="401",reason="unknown_token"} 2"#))
        #expect(text.contains(#"rollcall_access_refusals_total{status="403",reason="role"} 1"#))
    }

    @Test("a tokenFile entry reads its token from a file, and a rotated one is in force without a restart")
    func tokenFile() async throws {
        let folder = try SecretFolder()
        var configuration = try ControlPlaneConfiguration.test()
        let secret = try folder.write("reader-token", "reader-from-a-file-0123\n")
        configuration.access.tokensFile = try folder.write("tokens.yaml", "tokens: [{name: keda, role: reader, tokenFile: \(secret)}]")
        configuration.tokensFileCheckInterval = .milliseconds(50)
        try await ControlPlaneHarness(configuration).test { client in
            #expect(try await client.get("/v1/fleet", headers: bearer("reader-from-a-file-0123")).status == .ok)
            try "rotated-reader-token-0123".write(toFile: secret, atomically: true, encoding: .utf8)
            try await eventually("the rotated token file is in force", within: .seconds(10)) {
                try await client.get("/v1/fleet", headers: bearer("rotated-reader-token-0123")).status == .ok
            }
            #expect(try await client.get("/v1/fleet", headers: bearer("reader-from-a-file-0123")).status == .unauthorized)
        }
    }

    @Test("a changed AUTH_TOKENS_FILE is in force without a restart: a revoked token is refused, a new one admitted")
    func tokensFileReload() async throws {
        let folder = try SecretFolder()
        var configuration = try ControlPlaneConfiguration.test()
        configuration.access.tokensFile = try folder.write("tokens.yaml", Self.tokensFile)
        configuration.tokensFileCheckInterval = .milliseconds(50)
        let path = configuration.access.tokensFile!
        try await ControlPlaneHarness(configuration).test { client in
            #expect(try await client.get("/v1/workers", headers: bearer("reader-token-0123456789")).status == .ok)
            try "tokens:\n  - {name: dashboard, role: reader, token: rotated-token-0123456789}\n".write(
                toFile: path, atomically: true, encoding: .utf8)
            try await eventually("the rotated token is admitted", within: .seconds(10)) {
                try await client.get("/v1/workers", headers: bearer("rotated-token-0123456789")).status == .ok
            }
            #expect(try await client.get("/v1/workers", headers: bearer("reader-token-0123456789")).status == .unauthorized)
            // A broken file is refused; the tokens in force stay.
            try "tokens: [{name: x, role: king, token: t}]\n".write(toFile: path, atomically: true, encoding: .utf8)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await client.get("/v1/workers", headers: bearer("rotated-token-0123456789")).status == .ok)
        }
    }
}

@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct RateLimitTests {
    @Test("past its limit a caller gets 429 rate_limited with Retry-After; other callers, and its own other names, do not")
    func limited() async throws {
        let folder = try SecretFolder()
        var configuration = try ControlPlaneConfiguration.test()
        configuration.access.tokensFile = try folder.write("tokens.yaml", RoleTests.tokensFile)
        // One token per 100 s: however slow this machine is, the bucket does not refill during the test.
        configuration.access.rateLimit = RateLimit(rate: 0.01, burst: 3)
        let harness = try ControlPlaneHarness(configuration)
        try await harness.test { client in
            let reader = bearer("reader-token-0123456789")
            for _ in 0..<3 { #expect(try await client.get("/v1/workers", headers: reader).status == .ok) }
            // The refusal is held for RATE_LIMIT_HOLD (1 s) before it is answered: a client that ignores
            // Retry-After is slowed to one request a second per connection.
            let sent = ContinuousClock.now
            let refused = try await client.get("/v1/workers", headers: reader)
            #expect(ContinuousClock.now - sent >= .milliseconds(900))
            #expect(refused.outcome == "429 rate_limited")
            // The time until the next token, in whole seconds: 100 s less what refilled meanwhile.
            #expect((90...100).contains(Int(refused.headers[.retryAfter] ?? "") ?? 0), "\(refused.headers[.retryAfter] ?? "none")")
            #expect(refused.message.contains("token dashboard (reader) is over its rate limit"))
            // Another caller has its own bucket.
            #expect(try await client.beat("batch-7", bearer("worker-token-0123456789")).status == .ok)
            // An admin acting as many workers is counted per worker name.
            let admin = bearer("admin-token-0123456789")
            for name in ["w-1", "w-2", "w-3", "w-4", "w-5"] { #expect(try await client.beat(name, admin).status == .ok, "\(name)") }
        }
        #expect(harness.metricsText.contains(#"rollcall_access_refusals_total{status="429",reason="rate_limit"} 1"#))
    }

    @Test("a pool's own rateLimit replaces RATE_LIMIT in it")
    func perPool() async throws {
        var configuration = try ControlPlaneConfiguration.test().declaring([
            ("tight", { $0.rateLimit = RateLimit(rate: 0.1, burst: 1) }), ("default", { _ in }),
        ])
        configuration.access.rateLimit = RateLimit(rate: 100, burst: 100)
        try await ControlPlaneHarness(configuration).test { client async throws in
            #expect(try await client.get("/v1/pools/tight/workers").status == .ok)
            #expect(try await client.get("/v1/pools/tight/workers").outcome == "429 rate_limited")
            for _ in 0..<5 { #expect(try await client.get("/v1/workers").status == .ok) }
        }
    }
}

@Suite struct AccessUnitTests {
    @Test("a token bucket spends its burst, then refills at its rate")
    func bucket() {
        var buckets = RateBuckets()
        let limit = RateLimit(rate: 2, burst: 4)
        for _ in 0..<4 { #expect(buckets.take("a", limit: limit, now: 100) == nil) }
        #expect(buckets.take("a", limit: limit, now: 100) == 0.5)
        #expect(buckets.take("b", limit: limit, now: 100) == nil)
        #expect(buckets.take("a", limit: limit, now: 100.5) == nil)
        #expect(buckets.take("a", limit: limit, now: 100.5) == 0.5)
        // Long quiet: full again, never more than the burst.
        for _ in 0..<4 { #expect(buckets.take("a", limit: limit, now: 1000) == nil) }
        #expect(buckets.take("a", limit: limit, now: 1000) != nil)
    }

    @Test("full buckets are forgotten once there are too many")
    func pruning() {
        var buckets = RateBuckets(pruneAbove: 10)
        let limit = RateLimit(rate: 1, burst: 2)
        for index in 0..<11 { _ = buckets.take("k\(index)", limit: limit, now: 0) }
        _ = buckets.take("late", limit: limit, now: 10)
        #expect(buckets.count == 1)
    }

    @Test("rate limits are written 20/s or 600/m; anything else is refused")
    func rateText() {
        #expect(RateLimit(text: "20/s") == RateLimit(rate: 20, burst: 40))
        #expect(RateLimit(text: "600/m", burst: 5) == RateLimit(rate: 10, burst: 5))
        #expect(RateLimit(text: "0.5/s") == RateLimit(rate: 0.5, burst: 1))
        for bad in ["20", "20/h", "-1/s", "0/s", "x/s", "20/s/s", "inf/s", ""] { #expect(RateLimit(text: bad) == nil, "\(bad)") }
    }

    @Test("AUTH_TOKENS_FILE problems name the entry and the field")
    func tokensFileProblems() {
        let cases: [(String, String)] = [
            ("tokens: 3", "one field, `tokens`, a list"),
            ("tokens: []\nextra: 1", "one field, `tokens`, a list"),
            ("tokens: [{role: admin, token: 0123456789abcdef}]", "tokens[0]: `name` is required"),
            ("tokens: [{name: Ops, role: admin, token: 0123456789abcdef}]", "tokens[0]: `name` is required"),
            ("tokens: [{name: ops, role: king, token: 0123456789abcdef}]", "`role` must be one of admin, reader, worker"),
            ("tokens: [{name: ops, role: admin, token: short}]", "at least 16 characters"),
            ("tokens: [{name: ops, role: admin, sha256: abc}]", "`sha256` must be 64 hex digits"),
            ("tokens: [{name: ops, role: admin}]", "exactly one of `token`, `sha256` and `tokenFile`"),
            ("tokens: [{name: ops, role: admin, tokenFile: /nonexistent}]", "tokenFile /nonexistent cannot be read"),
            ("tokens: [{name: ops, role: admin, tokenFile: /etc/hostname, token: 0123456789abcdef}]", "exactly one of"),
            ("tokens: [{name: ops, role: admin, token: 0123456789abcdef, color: red}]", "unknown field `color`"),
            (
                "tokens: [{name: a, role: admin, token: 0123456789abcdef}, {name: a, role: reader, token: 0123456789abcdeg}]",
                "the name a is used twice"
            ),
            (
                "tokens: [{name: a, role: admin, token: 0123456789abcdef}, {name: b, role: reader, token: 0123456789abcdef}]",
                "the same token is given twice"
            ),
        ]
        for (text, message) in cases {
            #expect(throws: StaticTokens.Problem.self, "\(text)") { try StaticTokens.parse(text) }
            do {
                _ = try StaticTokens.parse(text)
            } catch {
                #expect(error.description.contains(message), "\(text): \(error)")
            }
        }
    }

    @Test("claims: the service account comes from kubernetes.io, else from sub; the pod name is the worker name")
    func claims() throws {
        var claims = ServiceAccountClaims(
            iss: "https://issuer", aud: AudienceClaim(value: ["rollcall"]), exp: 2000, nbf: 900, iat: 900,
            sub: "system:serviceaccount:ns:sa",
            kubernetes: nil)
        let caller = try claims.check(issuer: "https://issuer", audience: "rollcall", now: 1000)
        #expect(caller.serviceAccount == "ns/sa" && caller.workerName == nil && caller.role == Role.worker)
        claims.kubernetes = .init(namespace: "team", pod: .init(name: "pod-a"), serviceaccount: .init(name: "worker"))
        #expect(try claims.check(issuer: "https://issuer", audience: "rollcall", now: 1000).workerName == "pod-a")
        #expect(throws: AccessRefusal.self) { try claims.check(issuer: "https://issuer", audience: "rollcall", now: 2000) }
        // A little clock skew is forgiven at the start of a token's life, none at its end.
        claims.nbf = 1004
        #expect(try claims.check(issuer: "https://issuer", audience: "rollcall", now: 1000).workerName == "pod-a")
        claims.nbf = 1006
        #expect(throws: AccessRefusal.self) { try claims.check(issuer: "https://issuer", audience: "rollcall", now: 1000) }
        claims.nbf = nil
        claims.kubernetes = nil
        claims.sub = "system:serviceaccount::sa"
        #expect(throws: AccessRefusal.self) { try claims.check(issuer: "https://issuer", audience: "rollcall", now: 1000) }
    }

    @Test("the issuer must be https, or plain http on loopback")
    func issuerURL() {
        for good in ["https://kubernetes.default.svc", "http://127.0.0.1:8000", "http://localhost:1"] {
            #expect((try? OIDCVerifier.Settings.checkURL(good, what: "x")) != nil, "\(good)")
        }
        for bad in ["http://kubernetes.default.svc", "ftp://127.0.0.1", "kubernetes", "https://"] {
            #expect((try? OIDCVerifier.Settings.checkURL(bad, what: "x")) == nil, "\(bad)")
        }
    }
}
