/// Where the Sentinels are and which primary they watch: the control plane asks them for the current
/// primary instead of connecting to one fixed address (`RedisPrimaryLocator`).
public struct RedisSentinelConfiguration: Sendable, Hashable {
    /// One Sentinel's address.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var description: String { RedisConfiguration.address(host: host, port: port) }
    }

    /// Asked in this order; the first that answers names the primary.
    public var sentinels: [Endpoint]
    /// The name the Sentinels monitor the primary under (`sentinel monitor <name> ...`).
    public var masterName: String
    /// The Sentinels' own password (`requirepass` in sentinel.conf), if they have one.
    public var password: String?

    /// `list` is comma-separated `host:port` (IPv6 as `[::1]:26379`); the port defaults to 26379.
    public init(list: String, masterName: String, password: String? = nil) throws(RedisError) {
        var sentinels: [Endpoint] = []
        for item in list.split(separator: ",") {
            let trimmed = item.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()
            if !trimmed.isEmpty { sentinels.append(try Self.endpoint(String(trimmed))) }
        }
        guard !sentinels.isEmpty else { throw .invalidURL(list, reason: "no Sentinel address (expected host:port[,host:port...])") }
        guard !masterName.isEmpty else { throw .invalidURL(list, reason: "the Sentinels' master name is empty") }
        self.sentinels = sentinels
        self.masterName = masterName
        self.password = password.flatMap { $0.isEmpty ? nil : $0 }
    }

    private static func endpoint(_ text: String) throws(RedisError) -> Endpoint {
        var host = text
        var portText: Substring? = nil
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .invalidURL(text, reason: "unclosed [ in a Sentinel address") }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw .invalidURL(text, reason: "expected [host]:port") }
                portText = rest.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw .invalidURL(text, reason: "a Sentinel address has no host") }
        let port: Int
        if let portText {
            guard let parsed = Int(portText), (1...65535).contains(parsed) else {
                throw .invalidURL(text, reason: "a Sentinel port must be 1...65535")
            }
            port = parsed
        } else {
            port = 26379
        }
        return Endpoint(host: host, port: port)
    }
}
