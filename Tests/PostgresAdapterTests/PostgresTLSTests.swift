import Foundation
import TestSupport
import Testing

@testable import PostgresAdapter

/// PostgreSQL over TLS with the server's certificate verified (`DATABASE_CA_FILE`: sslmode=verify-full),
/// against a cluster of the test's own that refuses TCP connections without TLS.
@Suite(.enabled(if: TestServers.runPostgresTests, "needs ROLLCALL_TEST_DATABASE_URL (scripts/test sets it)"))
struct PostgresTLSTests {
    /// Whether `configuration` connects, and over TLS; or the error.
    static func connect(_ configuration: PostgresConfiguration) async -> String {
        let pool = PostgresPool(configuration: configuration)
        defer { Task { await pool.shutdown() } }
        do {
            let rows = try await pool.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            return try rows.first?.decode(Bool.self, column: "ssl") == true ? "tls" : "plain"
        } catch {
            return "error: \(error)"
        }
    }

    @Test("verify-full: the right CA connects over TLS; another CA, or no TLS, is refused with the reason")
    func verifyFull() async throws {
        let server = try PrivatePostgres()
        defer { server.remove() }
        try await server.start()
        let ca = try TestCertificates()
        let other = try TestCertificates(name: "another-ca")
        let (certificate, key) = try ca.issue()
        try await server.requireSSL(certificate: certificate, key: key)

        var configuration = PostgresConfiguration(url: server.url, connectTimeout: .seconds(2), poolSize: 1)
        configuration.caFile = ca.caFile
        #expect(await Self.connect(configuration) == "tls")
        // The host name is checked too: localhost is in the certificate.
        configuration.url = server.url.replacingOccurrences(of: "127.0.0.1", with: "localhost")
        #expect(await Self.connect(configuration) == "tls")

        configuration.caFile = other.caFile
        let wrong = await Self.connect(configuration)
        #expect(wrong.contains("certificate verify failed"), "\(wrong)")

        // The URL cannot turn it off: DATABASE_CA_FILE's verify-full wins over sslmode=disable.
        configuration.caFile = ca.caFile
        configuration.url = server.url + "?sslmode=disable"
        #expect(await Self.connect(configuration) == "tls")

        // Without TLS the server refuses.
        configuration.caFile = nil
        let plain = await Self.connect(configuration)
        #expect(plain.contains("no encryption"), "\(plain)")
    }
}
