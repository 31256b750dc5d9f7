#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where and how to connect: parsed from `redis://[[user]:password@]host[:port][/db]`.
public struct RedisConfiguration: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    /// How long a connect (TCP plus AUTH and SELECT) may take.
    public var connectTimeout: Duration
    /// How long one command may wait for its reply.
    public var commandTimeout: Duration
    /// Connections in the pool (NIO channels; no thread of their own).
    public var poolSize: Int
    /// With Sentinels, `host` and `port` are not used: the pool asks the Sentinels for the primary, checks
    /// with ROLE that it is one, and follows a failover (`RedisPrimaryLocator`).
    public var sentinel: RedisSentinelConfiguration? = nil
    /// After every script, `WAIT` until this many replicas have its writes; fewer within
    /// `replicationTimeout` fails the call with `notReplicated`. 0 (a single Redis) skips the WAIT.
    public var minReplicas = 0
    /// How long a WAIT may take; shorter than `commandTimeout`, or the connection gives up on the WAIT first.
    public var replicationTimeout: Duration = .milliseconds(500)
    /// With Sentinels: a node is written to only while a majority of the Sentinels named it the primary
    /// within this long (they are asked every tenth of it), so an old primary that still acknowledges
    /// writes after a failover gets them for at most this long after a majority moved on. Lost state is
    /// waited out this much longer than a lease (`RedisPrimaryLocator`, docs/design.md).
    public var primaryLease: Duration = .milliseconds(500)

    public init(
        url: String, connectTimeout: Duration = .seconds(2), commandTimeout: Duration = .seconds(2), poolSize: Int = 4
    ) throws(RedisError) {
        guard let components = URLComponents(string: url), components.scheme == "redis" else {
            throw .invalidURL(url, reason: "expected redis://[[user]:password@]host[:port][/db]")
        }
        var host = components.host ?? ""
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw .invalidURL(url, reason: "no host") }
        let port = components.port ?? 6379
        guard (1...65535).contains(port) else { throw .invalidURL(url, reason: "port \(port) is out of range") }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard path.isEmpty || Int(path).map({ $0 >= 0 }) == true else {
            throw .invalidURL(url, reason: "database must be a number, got \(path)")
        }
        guard poolSize >= 1 else { throw .invalidURL(url, reason: "pool size must be at least 1") }
        self.host = host
        self.port = port
        self.username = components.user.flatMap { $0.isEmpty ? nil : $0 }
        self.password = components.password
        self.database = Int(path) ?? 0
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.poolSize = poolSize
    }

    /// `host:port`, for messages. Never includes the password.
    public var address: String { Self.address(host: host, port: port) }

    /// `host:port`, an IPv6 host in brackets.
    static func address(host: String, port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The same settings for another node (a primary a Sentinel named, or a Sentinel itself).
    func node(host: String, port: Int, username: String?, password: String?, database: Int) -> RedisConfiguration {
        var copy = self
        copy.host = host
        copy.port = port
        copy.username = username
        copy.password = password
        copy.database = database
        copy.sentinel = nil
        return copy
    }
}
