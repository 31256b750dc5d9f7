import RedisAdapter

/// `reap`: releases every lease past its expiry, also when no heartbeat arrives, and notices a store
/// that lost its state (so recovery begins even before a worker asks).
///
/// ARGV: quarantine ms, lease TTL ms.
/// Reply: `{"expired": n, "live": n, "numberOnly": n, "generation": "…"}`, the leases it released, the
/// live ones left (of them number-only), and the store generation. Idempotent: a second run finds nothing more to release.
struct ReapScript: LeaseScript {
    var settings: LeaseSettings

    var arguments: [String] {
        [String(settings.numberQuarantine.wholeMilliseconds), String(settings.leaseTTL.wholeMilliseconds)]
    }

    struct Reply: Decodable, Sendable, Equatable {
        var expired: Int
        var live: Int
        var numberOnly: Int
        var generation: String
    }

    static let name = "reap"
    static let script = make(
        #"""
        local generation = checkStore(tonumber(ARGV[2]))
        local expired = expire(tonumber(ARGV[1]))
        return cjson.encode({expired = expired, live = redis.call('HLEN', K.workers), numberOnly = redis.call('SCARD', K.numberOnly),
            generation = generation})
        """#, idempotent: true)
}
