import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization

/// TLS for a server (TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE): the certificate chain and key
/// in PEM, and optionally the CA whose certificates clients must present.
public struct TLSFiles: Sendable, Equatable {
    public var certificate: String
    public var key: String
    /// With it, a client must present a certificate this CA signed (mutual TLS).
    public var clientCA: String?

    public init(certificate: String, key: String, clientCA: String? = nil) {
        self.certificate = certificate
        self.key = key
        self.clientCA = clientCA
    }
}

/// The server's TLS context, replaced when its files change (cert-manager renews a certificate by
/// rewriting its Secret): a new connection gets the context in force when it is accepted, a connection
/// already open keeps its own, so nothing is dropped. Files that cannot be read, or do not make a
/// context (a key that is not the certificate's, a half-written file), leave the one in force.
public final class ServerTLS: Sendable {
    public let files: TLSFiles
    private let state: Mutex<(context: NIOSSLContext, contents: [Data])>

    public init(files: TLSFiles) throws {
        self.files = files
        let contents = try Self.read(files)
        state = Mutex((try Self.context(files, contents), contents))
    }

    /// The context a connection accepted now uses.
    public var context: NIOSSLContext { state.withLock { $0.context } }

    public enum Reload: Equatable, Sendable {
        case unchanged, reloaded
        case refused(String)
    }

    /// Reads the files again and puts a changed set in force.
    public func reload() -> Reload {
        let contents: [Data]
        do {
            contents = try Self.read(files)
        } catch {
            return .refused("\(error)")
        }
        guard contents != state.withLock({ $0.contents }) else { return .unchanged }
        do {
            let context = try Self.context(files, contents)
            state.withLock { $0 = (context, contents) }
            return .reloaded
        } catch {
            return .refused("\(error)")
        }
    }

    /// The error a setting names when a file is missing or is not what it should be.
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    private static func read(_ files: TLSFiles) throws -> [Data] {
        try [("TLS_CERT_FILE", files.certificate), ("TLS_KEY_FILE", files.key), ("TLS_CLIENT_CA_FILE", files.clientCA)].compactMap {
            variable, path in
            guard let path else { return nil }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw Problem(description: "\(variable)=\(path) cannot be read (\(String(cString: strerror(errno))))")
            }
            return data
        }
    }

    private static func context(_ files: TLSFiles, _ contents: [Data]) throws -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(contents[0]))
            guard !chain.isEmpty else { throw Problem(description: "TLS_CERT_FILE=\(files.certificate) holds no certificate") }
            let key = try NIOSSLPrivateKey(bytes: Array(contents[1]), format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            configuration.minimumTLSVersion = .tlsv12
            if contents.count > 2 {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(contents[2])))
                configuration.certificateVerification = .noHostnameVerification
            }
            return try NIOSSLContext(configuration: configuration)
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(
                description:
                    "TLS_CERT_FILE=\(files.certificate), TLS_KEY_FILE=\(files.key)\(files.clientCA.map { ", TLS_CLIENT_CA_FILE=\($0)" } ?? ""): \(error)"
            )
        }
    }
}

/// A server's child channel behind TLS: the handshake first, with the context in force when the
/// connection is accepted, then `base` (the HTTP/1 channel).
struct ReloadingTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let tls: ServerTLS

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async { await base.handle(value: value, logger: logger) }
}

/// Looks at the TLS files every `interval` and puts a changed set in force (logged; a refused one too).
public struct TLSReloader: Service {
    let tls: ServerTLS
    let interval: Duration
    let logger: Logger

    public init(tls: ServerTLS, interval: Duration, logger: Logger) {
        self.tls = tls
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        // Graceful shutdown ends the sleep at once: nothing here needs finishing.
        try? await cancelWhenGracefulShutdown { try await loop() }
    }

    private func loop() async throws {
        var lastRefusal: String?
        while !Task.isCancelled {
            try await Task.sleep(for: interval)
            switch tls.reload() {
            case .unchanged: break
            case .reloaded:
                lastRefusal = nil
                logger.notice("TLS certificate reloaded: new connections use it", metadata: ["certificate": "\(tls.files.certificate)"])
            case .refused(let why):
                if why != lastRefusal {
                    logger.error("TLS files changed but cannot be used; the certificate in force stays", metadata: ["reason": "\(why)"])
                }
                lastRefusal = why
            }
        }
    }
}
