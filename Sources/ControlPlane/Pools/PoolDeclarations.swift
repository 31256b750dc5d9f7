import Coordination

/// The pools an installation serves and how pools may be created on first use: from POOLS_FILE
/// (`PoolsFile`), or the one `default` pool from the environment when there is no file.
struct PoolDeclarations: Sendable, Equatable {
    /// Each declared pool's settings, in the file's order.
    var pools: [DeclaredPool]
    /// How a pool nobody declared is made on first use; nil refuses unknown pools (404).
    var autoCreate: AutoCreate?

    struct DeclaredPool: Sendable, Equatable {
        var name: PoolName
        var settings: LeaseSettings
    }

    /// Number-only pools made on first use, podnum style.
    struct AutoCreate: Sendable, Equatable {
        var settings: LeaseSettings
        /// At most this many pools are made on first use (each costs Redis keys and a look now and then).
        var maxPools: Int
    }

    /// A deployment without POOLS_FILE: one pool, `default`, with the environment's settings.
    static func single(_ settings: LeaseSettings) -> PoolDeclarations {
        PoolDeclarations(pools: [DeclaredPool(name: .default, settings: settings)], autoCreate: nil)
    }

    /// The settings of `name`, if it is declared.
    func settings(of name: PoolName) -> LeaseSettings? { pools.first { $0.name == name }?.settings }
}
