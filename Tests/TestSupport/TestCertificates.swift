import Foundation

/// Certificates for TLS tests, made with `openssl` in a temporary folder: a CA, and leaf certificates
/// it signs for 127.0.0.1 and localhost (servers) or for a client. P-256 keys, valid for two days.
public final class TestCertificates: @unchecked Sendable {
    public let folder: URL
    public let name: String
    /// The CA's certificate, what a peer trusts.
    public let caFile: String
    private var serial = 0

    /// A new CA called `name`.
    public init(name: String = "rollcall-test-ca") throws {
        self.name = name
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("rollcall-certs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        caFile = folder.appendingPathComponent("ca.pem").path
        try Self.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("ca.key"), "-out", caFile,
            "-days", "2", "-subj", "/CN=\(name)",
        ])
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    public func path(_ file: String) -> String { folder.appendingPathComponent(file).path }

    /// A certificate and key signed by this CA: for a server at 127.0.0.1 and localhost, or (`client`)
    /// for a client named `commonName`. Returns the paths of the certificate and the key.
    public func issue(_ commonName: String = "localhost", client: Bool = false) throws -> (certificate: String, key: String) {
        serial += 1
        let base = "\(commonName)-\(serial)"
        let extensions = path("\(base).ext")
        let usage = client ? "extendedKeyUsage=clientAuth" : "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"
        try usage.write(toFile: extensions, atomically: true, encoding: .utf8)
        try Self.openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("\(base).key"), "-out",
            path("\(base).csr"), "-subj", "/CN=\(commonName)",
        ])
        try Self.openssl([
            "x509", "-req", "-in", path("\(base).csr"), "-CA", caFile, "-CAkey", path("ca.key"), "-set_serial", "\(1000 + serial)",
            "-out", path("\(base).pem"), "-days", "2", "-extfile", extensions,
        ])
        return (path("\(base).pem"), path("\(base).key"))
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw CertificateError(description: "openssl \(arguments.first ?? "") failed: \(text)")
        }
    }

    public struct CertificateError: Error, CustomStringConvertible {
        public var description: String
    }
}
