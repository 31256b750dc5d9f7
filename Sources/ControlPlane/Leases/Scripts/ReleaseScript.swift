import Coordination
import RedisAdapter

/// `release`: frees the number and partitions of a name at once, if `instance` holds it (graceful drain).
///
/// ARGV: name, instance, quarantine ms. Reply: `{"kind": "released" | "conflict" | "unknown"}`.
/// Not idempotent: a second run answers `unknown`.
struct ReleaseScript: LeaseScript {
    var name: WorkerName
    var instance: String
    var settings: LeaseSettings

    var arguments: [String] { [name.rawValue, instance, String(settings.numberQuarantine.wholeMilliseconds)] }

    struct Reply: Decodable, Sendable, Equatable {
        var kind: Kind

        enum Kind: String, Decodable, Sendable {
            case released
            /// The name is held by another instance: nothing was changed.
            case conflict
            /// No live lease has that name.
            case unknown
        }
    }

    static let name = "release"
    static let script = make(
        #"""
        local record = redis.call('HGET', K.workers, ARGV[1])
        if not record then return cjson.encode({kind = 'unknown'}) end
        if cjson.decode(record).instance ~= ARGV[2] then return cjson.encode({kind = 'conflict'}) end
        release(ARGV[1], tonumber(ARGV[3]), nowMs, 'released')
        return cjson.encode({kind = 'released'})
        """#, idempotent: false)
}
