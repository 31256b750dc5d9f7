import Coordination
import RedisAdapter

/// `release` (lua/release.lua): frees the number and partitions of a name at once, if `instance` holds
/// it (graceful drain). Not idempotent: a second run answers `unknown`.
struct ReleaseScript: LeaseScript {
    var name: WorkerName
    var instance: InstanceID
    var settings: LeaseSettings

    enum Argument: String, ScriptName { case name, instance, quarantineMs }

    func argument(_ argument: Argument) -> String {
        switch argument {
        case .name: name.rawValue
        case .instance: instance.rawValue
        case .quarantineMs: String(settings.numberQuarantine.wholeMilliseconds)
        }
    }

    enum Field: String, ScriptName { case outcome }

    enum Reply: String, Sendable, Equatable {
        case released
        /// The name is held by another instance: nothing was changed.
        case conflict
        /// No live lease has that name.
        case unknown
    }

    static func reply(_ fields: ScriptReply<Field>) -> Reply? { fields.string(.outcome).flatMap(Reply.init(rawValue:)) }

    static let name = "release"
    static let script = load(LuaSource.release, idempotent: false)
}
