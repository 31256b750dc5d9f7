import AsyncHTTPClient
import Coordination
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import RollcallClient
import ServerSupport
import TestSupport
import Testing

@testable import ControlPlane

/// HTTPS on the control plane (TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE), with real certificates
/// and real TLS clients.
@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct TLSTests {
    /// An HTTP client trusting `caFile`, presenting `certificate` when given. Shut down by the caller.
    static func client(trusting caFile: String, certificate: (certificate: String, key: String)? = nil) throws -> HTTPClient {
        try ClientTLS(caFile: caFile, certificateFile: certificate?.certificate, keyFile: certificate?.key).makeHTTPClient()
    }

    /// The status of `GET url`, or the error's description.
    static func get(_ client: HTTPClient, _ url: String) async -> String {
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
            _ = try await response.body.collect(upTo: 1 << 20)
            return "\(response.status.code)"
        } catch {
            return "error: \(error)"
        }
    }

    /// Copies `source` over `target` the way a Secret volume changes: a new file renamed into place.
    static func replace(_ target: String, with source: String) throws {
        let staged = target + ".new"
        try? FileManager.default.removeItem(atPath: staged)
        try FileManager.default.copyItem(atPath: source, toPath: staged)
        _ = rename(staged, target)
    }

    @Test("HTTPS: a client trusting the CA is answered; one trusting another CA is refused; plain HTTP gets no HTTP answer")
    func served() async throws {
        let ca = try TestCertificates()
        let other = try TestCertificates(name: "another-ca")
        let (certificate, key) = try ca.issue()
        var configuration = try ControlPlaneConfiguration.test()
        configuration.http.tls = TLSFiles(certificate: certificate, key: key)
        try await ControlPlaneHarness(configuration).testLive { port in
            let good = try Self.client(trusting: ca.caFile)
            let wrong = try Self.client(trusting: other.caFile)
            #expect(await Self.get(good, "https://127.0.0.1:\(port)/healthz") == "200")
            #expect(await Self.get(good, "https://localhost:\(port)/v1/workers") == "200")
            let refused = await Self.get(wrong, "https://127.0.0.1:\(port)/healthz")
            #expect(refused.hasPrefix("error:") && refused.contains("CERTIFICATE_VERIFY_FAILED"), "\(refused)")
            try await good.shutdown()
            try await wrong.shutdown()
            // Plain HTTP on the TLS port: the handshake fails and the connection is closed, no HTTP answer.
            let answer = try await RawHTTP.exchange(port: port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout: .seconds(1))
            #expect(!answer.hasPrefix("HTTP/"), "\(answer.prefix(40))")
            let plain = await Self.get(HTTPClient.shared, "http://127.0.0.1:\(port)/healthz")
            #expect(plain.hasPrefix("error:"), "\(plain)")
        }
    }

    @Test("a renewed certificate is used for new connections without a restart; an open connection is not dropped")
    func rotation() async throws {
        let first = try TestCertificates(name: "first-ca")
        let second = try TestCertificates(name: "second-ca")
        let (certificate, key) = try first.issue()
        let folder = try SecretFolder()
        let servedCertificate = try folder.write("tls.crt", try String(contentsOfFile: certificate, encoding: .utf8))
        let servedKey = try folder.write("tls.key", try String(contentsOfFile: key, encoding: .utf8))
        var configuration = try ControlPlaneConfiguration.test()
        configuration.http.tls = TLSFiles(certificate: servedCertificate, key: servedKey)
        configuration.http.tlsReloadInterval = .milliseconds(100)
        try await ControlPlaneHarness(configuration).testLive { port in
            let url = "https://127.0.0.1:\(port)/healthz"
            let old = try Self.client(trusting: first.caFile)
            let new = try Self.client(trusting: second.caFile)
            #expect(await Self.get(old, url) == "200")
            #expect(await Self.get(new, url).hasPrefix("error:"))
            let (renewed, renewedKey) = try second.issue()
            // The key first, as a Secret's files may change one at a time: a certificate and key that
            // do not match are refused, and the old pair stays in force meanwhile.
            try Self.replace(servedKey, with: renewedKey)
            try await Task.sleep(for: .milliseconds(300))
            #expect(await Self.get(old, url) == "200", "the old certificate is still served until the pair matches")
            try Self.replace(servedCertificate, with: renewed)
            try await eventually("new connections get the renewed certificate", within: .seconds(10)) {
                let client = try Self.client(trusting: second.caFile)
                let status = await Self.get(client, url)
                try await client.shutdown()
                return status == "200"
            }
            // `old` trusts only the first CA: it is answered because its pooled connection, opened
            // before the renewal, still works; a new connection would be refused.
            #expect(await Self.get(old, url) == "200")
            let fresh = try Self.client(trusting: first.caFile)
            #expect(await Self.get(fresh, url).hasPrefix("error:"))
            for client in [old, new, fresh] { try await client.shutdown() }
        }
    }

    @Test("with TLS_CLIENT_CA_FILE a client must present a certificate that CA signed")
    func clientCertificates() async throws {
        let serverCA = try TestCertificates(name: "server-ca")
        let clientCA = try TestCertificates(name: "client-ca")
        let strangerCA = try TestCertificates(name: "stranger-ca")
        let (certificate, key) = try serverCA.issue()
        var configuration = try ControlPlaneConfiguration.test()
        configuration.http.tls = TLSFiles(certificate: certificate, key: key, clientCA: clientCA.caFile)
        try await ControlPlaneHarness(configuration).testLive { port in
            let url = "https://127.0.0.1:\(port)/healthz"
            let anonymous = try Self.client(trusting: serverCA.caFile)
            let known = try Self.client(trusting: serverCA.caFile, certificate: try clientCA.issue("pod-a", client: true))
            let stranger = try Self.client(trusting: serverCA.caFile, certificate: try strangerCA.issue("pod-a", client: true))
            #expect(await Self.get(anonymous, url).hasPrefix("error:"))
            #expect(await Self.get(known, url) == "200")
            #expect(await Self.get(stranger, url).hasPrefix("error:"))
            for client in [anonymous, known, stranger] { try await client.shutdown() }
        }
    }

    @Test("the Rollcall client leases over HTTPS, checking the control plane against CONTROL_PLANE_CA_FILE")
    func clientLeases() async throws {
        let ca = try TestCertificates()
        let (certificate, key) = try ca.issue()
        var configuration = try ControlPlaneConfiguration.test()
        configuration.http.tls = TLSFiles(certificate: certificate, key: key)
        try await ControlPlaneHarness(configuration).testLive { port in
            let http = try ClientTLS(caFile: ca.caFile).makeHTTPClient()
            let client = RollcallClient(
                configuration: RollcallClientConfiguration(baseURL: "https://localhost:\(port)", name: WorkerName(rawValue: "pod-a")!),
                httpClient: http, logger: Logger(label: "test"))
            let loop = Task { try await client.heartbeatLoop() }
            try await eventually("the lease is granted over HTTPS", within: .seconds(10)) { client.safeLease() != nil }
            loop.cancel()
            #expect(await client.release())
            try await http.shutdown()
        }
    }

    @Test("TLS settings: both files or neither; a key that is not the certificate's stops the start")
    func settings() throws {
        let ca = try TestCertificates()
        let (certificate, key) = try ca.issue()
        let (_, otherKey) = try ca.issue()
        func resolve(_ environment: [String: String]) throws -> HTTPLimits {
            try HTTPLimitOptions.parse([]).resolve(Settings(environment: environment))
        }
        #expect(try resolve(["TLS_CERT_FILE": certificate, "TLS_KEY_FILE": key]).tls == TLSFiles(certificate: certificate, key: key))
        #expect(try resolve([:]).tls == nil)
        for (environment, message) in [
            (["TLS_CERT_FILE": certificate], "set both TLS_CERT_FILE and TLS_KEY_FILE"),
            (["TLS_CLIENT_CA_FILE": ca.caFile], "TLS_CLIENT_CA_FILE needs TLS_CERT_FILE"),
            (["TLS_CERT_FILE": certificate, "TLS_KEY_FILE": "/nonexistent"], "TLS_KEY_FILE=/nonexistent cannot be read"),
            (["TLS_CERT_FILE": key, "TLS_KEY_FILE": key], "TLS_CERT_FILE="),
            (["TLS_CERT_FILE": certificate, "TLS_KEY_FILE": otherKey], "TLS_CERT_FILE="),
        ] {
            do {
                _ = try resolve(environment)
                Issue.record("\(environment) was accepted")
            } catch {
                #expect("\(error)".contains(message), "\(environment): \(error)")
            }
        }
    }
}
