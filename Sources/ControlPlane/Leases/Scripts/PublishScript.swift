import Coordination
import Partitioning
import RedisAdapter

/// `publish` (lua/publish.lua): makes a layout the published one, once per membership version and
/// partition count. Not idempotent: a run that publishes bumps the version.
struct PublishScript: LeaseScript {
    var layout: Layout
    var membership: Int64
    /// Partitions whose owner differs from the layout this one replaces (`LayoutDiff`).
    var moved: Int

    enum Argument: String, ScriptName { case membership, partitions, owners, members, moved }

    func argument(_ argument: Argument) -> String {
        switch argument {
        case .membership: String(membership)
        case .partitions: String(layout.owners.count)
        case .owners: layout.owners.map { $0.map(String.init) ?? "" }.joined(separator: ",")
        case .members: layout.members.map(String.init).joined(separator: ",")
        case .moved: String(moved)
        }
    }

    /// Pairs (number, its partitions CSV), by number.
    var trailingArguments: [String] {
        layout.partitionsByMember.sorted(by: { $0.key < $1.key }).flatMap { member, partitions in
            [String(member), partitions.map(String.init).joined(separator: ",")]
        }
    }

    enum Field: String, ScriptName { case outcome, version }

    enum Reply: Sendable, Equatable {
        case published(version: Int64)
        /// The membership changed while the layout was computed: compute again.
        case stale
        /// A layout for this membership and partition count is published already (by another replica, or
        /// before this one took the lead).
        case current
    }

    static func reply(_ fields: ScriptReply<Field>) -> Reply? {
        switch fields.string(.outcome) {
        case "published": fields.count(.version).map { .published(version: $0) }
        case "stale": .stale
        case "current": .current
        default: nil
        }
    }

    static let name = "publish"
    static let script = load(LuaSource.publish, idempotent: false)
}
