import Coordination
import Partitioning
import RedisAdapter

/// `publish` (lua/publish.lua): makes a layout the published one. A count layout (no `basis`) is
/// published once per membership version and partition count; a load round's (`basis`: the version it
/// was computed from) only over that version, for the current membership. Not idempotent: a run that
/// publishes bumps the version.
struct PublishScript: LeaseScript {
    /// The owner of every partition.
    var owners: [Int?]
    /// The layout's members, ascending.
    var members: [Int]
    var membership: Int64
    /// Partitions whose owner differs from the layout this one replaces (`LayoutDiff`).
    var moved: Int
    /// For a load round: the published version it changes; nil for a count layout.
    var basis: Int64? = nil

    init(layout: Layout, membership: Int64, moved: Int) {
        self.init(owners: layout.owners, members: layout.members, membership: membership, moved: moved)
    }

    init(owners: [Int?], members: [Int], membership: Int64, moved: Int, basis: Int64? = nil) {
        self.owners = owners
        self.members = members
        self.membership = membership
        self.moved = moved
        self.basis = basis
    }

    enum Argument: String, ScriptName { case membership, partitions, owners, members, moved, basis }

    func argument(_ argument: Argument) -> String {
        switch argument {
        case .membership: String(membership)
        case .partitions: String(owners.count)
        case .owners: owners.map { $0.map(String.init) ?? "" }.joined(separator: ",")
        case .members: members.map(String.init).joined(separator: ",")
        case .moved: String(moved)
        case .basis: basis.map(String.init) ?? ""
        }
    }

    /// Pairs (number, its partitions CSV), by number; every member has one, empty when it owns nothing.
    var trailingArguments: [String] {
        var shares = Dictionary(uniqueKeysWithValues: members.map { ($0, [Int]()) })
        for (partition, owner) in owners.enumerated() { if let owner { shares[owner, default: []].append(partition) } }
        return shares.sorted(by: { $0.key < $1.key }).flatMap { member, partitions in
            [String(member), partitions.map(String.init).joined(separator: ",")]
        }
    }

    enum Field: String, ScriptName { case outcome, version }

    enum Reply: Sendable, Equatable {
        case published(version: Int64)
        /// The membership (or, for a load round, the published version) changed while the layout was
        /// computed: compute again.
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
