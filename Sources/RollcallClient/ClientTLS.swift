import AsyncHTTPClient
import NIOSSL

/// How the client checks the control plane over HTTPS (CONTROL_PLANE_CA_FILE) and, where the control
/// plane wants client certificates, which one it presents (CONTROL_PLANE_CERT_FILE, CONTROL_PLANE_KEY_FILE).
public struct ClientTLS: Sendable, Equatable {
    /// The CA that signed the control plane's certificate; nil trusts the system's roots.
    public var caFile: String?
    public var certificateFile: String?
    public var keyFile: String?

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// An HTTP client that verifies the control plane's certificate (and its host name) against
    /// `caFile` and presents the client certificate. The caller shuts it down.
    public func makeHTTPClient() throws -> HTTPClient {
        var configuration = HTTPClient.Configuration(tlsConfiguration: try tlsConfiguration())
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The files read into a TLS client configuration; throws for a file that is missing or not PEM.
    public func tlsConfiguration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let caFile { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) }
        if let certificateFile, let keyFile {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
        }
        return tls
    }
}
