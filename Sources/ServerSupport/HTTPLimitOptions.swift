import ArgumentParser

/// The flags of `HTTPLimits`, shared by both servers; each falls back to its environment variable.
public struct HTTPLimitOptions: ParsableArguments {
    @Option(help: "Time for a request head to arrive after connecting or after the last answer, e.g. 10s (HTTP_HEADER_TIMEOUT).")
    var httpHeaderTimeout: String?
    @Option(help: "Time without a byte while a request is read, e.g. 30s (HTTP_IDLE_TIMEOUT).") var httpIdleTimeout: String?
    @Option(help: "Open connections at most (HTTP_MAX_CONNECTIONS, default 4096).") var httpMaxConnections: Int?

    public init() {}

    public func resolve(_ settings: Settings) throws -> HTTPLimits {
        var limits = HTTPLimits()
        limits.headerTimeout = try settings.duration(httpHeaderTimeout, "HTTP_HEADER_TIMEOUT", limits.headerTimeout)
        limits.idleTimeout = try settings.duration(httpIdleTimeout, "HTTP_IDLE_TIMEOUT", limits.idleTimeout)
        limits.maxConnections = try settings.number(httpMaxConnections, "HTTP_MAX_CONNECTIONS", limits.maxConnections, in: 1...1_000_000)
        let file = { (name: String) in settings.environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        switch (file("TLS_CERT_FILE"), file("TLS_KEY_FILE")) {
        case (let certificate?, let key?):
            limits.tls = TLSFiles(certificate: certificate, key: key, clientCA: file("TLS_CLIENT_CA_FILE"))
            // Read now: a file that is missing or not a certificate and its key stops the start, with why.
            do {
                _ = try ServerTLS(files: limits.tls!)
            } catch {
                throw ValidationError("\(error)")
            }
        case (nil, nil):
            if file("TLS_CLIENT_CA_FILE") != nil { throw ValidationError("TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE") }
        default:
            throw ValidationError("set both TLS_CERT_FILE and TLS_KEY_FILE, or neither")
        }
        limits.tlsReloadInterval = try settings.duration(nil, "TLS_RELOAD_INTERVAL", limits.tlsReloadInterval)
        return limits
    }
}
