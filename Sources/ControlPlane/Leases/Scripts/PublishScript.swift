import Coordination
import HashRing
import RedisAdapter

/// `publish`: makes a layout the published one, if the caller still leads and the membership it was
/// computed from is still current.
///
/// ARGV: leader token, membership version, owners CSV (empty fields for unowned), members CSV, the
/// partitions it moves (for the event stream), then pairs (number, its partitions CSV). Reply: `{"kind": "published", "version": n}`, or
/// `{"kind": "stale"}` (the membership moved on) or `{"kind": "notLeader"}`.
/// Not idempotent: every run bumps the version.
struct PublishScript: LeaseScript {
    var layout: Layout
    var membership: Int64
    var token: String
    /// Partitions whose owner differs from the layout this one replaces (`LayoutDiff`).
    var moved: Int

    var arguments: [String] {
        var arguments = [
            token, String(membership), layout.owners.map { $0.map(String.init) ?? "" }.joined(separator: ","),
            layout.members.map(String.init).joined(separator: ","), String(moved),
        ]
        for (member, partitions) in layout.partitionsByMember.sorted(by: { $0.key < $1.key }) {
            arguments += [String(member), partitions.map(String.init).joined(separator: ",")]
        }
        return arguments
    }

    struct Reply: Decodable, Sendable, Equatable {
        var kind: Kind
        var version: Int64?

        enum Kind: String, Decodable, Sendable {
            case published
            /// The membership changed while the layout was computed: compute again.
            case stale
            /// Another replica leads now.
            case notLeader
        }
    }

    static let name = "publish"
    static let script = make(
        #"""
        if redis.call('GET', K.leader) ~= ARGV[1] then return cjson.encode({kind = 'notLeader'}) end
        if tonumber(redis.call('GET', K.membership) or '0') ~= tonumber(ARGV[2]) then return cjson.encode({kind = 'stale'}) end
        local version = redis.call('HINCRBY', K.layout, 'version', 1)
        redis.call('HSET', K.layout, 'membership', ARGV[2], 'owners', ARGV[3], 'members', ARGV[4])
        redis.call('DEL', K.layoutByNumber)
        for i = 6, #ARGV, 2 do
            redis.call('HSET', K.layoutByNumber, ARGV[i], ARGV[i + 1])
        end
        local members = 0
        for _ in string.gmatch(ARGV[4], '%d+') do members = members + 1 end
        event('kind', 'layout', 'version', string.format('%d', version), 'moved', ARGV[5], 'members', string.format('%d', members))
        return cjson.encode({kind = 'published', version = version})
        """#, idempotent: false)
}
