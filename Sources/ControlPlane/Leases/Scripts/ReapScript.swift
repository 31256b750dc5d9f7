import RedisAdapter

/// `reap`: releases every lease past its expiry, also when no heartbeat arrives.
///
/// ARGV: quarantine ms. Reply: `{"expired": n, "live": n}`, the leases it released and the live ones left.
/// Idempotent: a second run finds nothing more to release.
struct ReapScript: LeaseScript {
    var settings: LeaseSettings

    var arguments: [String] { [String(settings.numberQuarantine.wholeMilliseconds)] }

    struct Reply: Decodable, Sendable, Equatable {
        var expired: Int
        var live: Int
    }

    static let name = "reap"
    static let script = make(
        #"""
        local expired = expire(tonumber(ARGV[1]))
        return cjson.encode({expired = expired, live = redis.call('HLEN', K.workers)})
        """#, idempotent: true)
}
