import RedisAdapter

/// `lead`: takes the rebalancer's leader lease if it is free, renews it if `token` holds it.
///
/// ARGV: leader token, lease ms. Reply: `{"leads": bool}`. Idempotent: taking or renewing twice is the same.
struct LeadScript: LeaseScript {
    var token: String
    var lease: Duration

    var arguments: [String] { [token, String(lease.wholeMilliseconds)] }

    struct Reply: Decodable, Sendable, Equatable {
        var leads: Bool
    }

    static let name = "lead"
    static let script = make(
        #"""
        local current = redis.call('GET', K.leader)
        if not current then
            redis.call('SET', K.leader, ARGV[1], 'PX', ARGV[2])
            return cjson.encode({leads = true})
        elseif current == ARGV[1] then
            redis.call('PEXPIRE', K.leader, ARGV[2])
            return cjson.encode({leads = true})
        end
        return cjson.encode({leads = false})
        """#, idempotent: true)
}
