import Coordination
import Logging
import Synchronization

/// The pools this replica serves, by name: the declared ones (replaced when POOLS_FILE changes) and
/// the ones made on first use. Every route and the pool keeper find a pool's `LeaseService` here.
final class PoolDirectory: Sendable {
    let schedule: PoolSchedule
    private let makeService: @Sendable (PoolName, LeaseSettings, _ metricsLabel: String) -> LeaseService
    private let state: Mutex<State>

    private struct State {
        var declarations: PoolDeclarations
        var declared: [PoolName: LeaseService]
        /// Pools made on first use, as this replica has met them.
        var made: [PoolName: LeaseService] = [:]
        /// Declared settings held back: a pool's partition count cannot change while it has live leases.
        var held: [PoolName: LeaseSettings] = [:]
    }

    /// The metric label of every pool made on first use: one value, so their number cannot grow the
    /// metrics. A pool name never begins with `_`.
    static let madeLabel = "_auto"

    init(
        _ declarations: PoolDeclarations, schedule: PoolSchedule,
        makeService: @escaping @Sendable (PoolName, LeaseSettings, _ metricsLabel: String) -> LeaseService
    ) {
        self.schedule = schedule
        self.makeService = makeService
        var declared: [PoolName: LeaseService] = [:]
        for pool in declarations.pools { declared[pool.name] = makeService(pool.name, pool.settings, pool.name.rawValue) }
        state = Mutex(State(declarations: declarations, declared: declared))
    }

    /// The declarations in force (with the held-back pools at their running settings).
    var declarations: PoolDeclarations { state.withLock { $0.declarations } }

    /// The declared pools' services, in the file's order.
    var declared: [LeaseService] {
        state.withLock { state in state.declarations.pools.compactMap { state.declared[$0.name] } }
    }

    /// The settings waiting for a pool to have no live lease, by pool.
    var held: [PoolName: LeaseSettings] { state.withLock { $0.held } }

    /// The service of the pool named `raw` in a path: 400 for a malformed name, 404 for an unknown pool.
    func service(named raw: String?) async throws(LeaseRefusal) -> LeaseService {
        guard let raw, let name = PoolName(rawValue: raw) else { throw .invalid(.invalidPool, PoolName.rule) }
        return try await service(name)
    }

    /// The service of `name`, making the pool on first use when `autoCreate` allows it.
    func service(_ name: PoolName) async throws(LeaseRefusal) -> LeaseService {
        let (known, autoCreate) = state.withLock { ($0.declared[name] ?? $0.made[name], $0.declarations.autoCreate) }
        if let known { return known }
        guard let autoCreate else { throw .unknownPool(name, why: "it is not declared in POOLS_FILE, and autoCreate is off") }
        let registered: Bool
        do {
            registered = try await schedule.register(name, limit: autoCreate.maxPools)
        } catch {
            throw LeaseRefusal(error)
        }
        guard registered else {
            throw .unknownPool(name, why: "it is not declared, and the \(autoCreate.maxPools) pools autoCreate may make exist already")
        }
        return made(name, autoCreate)
    }

    /// The service of a pool this replica knows or autoCreate makes, without registering it (the leader
    /// looking at a pool another replica registered); nil for a pool that is gone.
    func existing(_ name: PoolName) -> LeaseService? {
        let (known, autoCreate) = state.withLock { ($0.declared[name] ?? $0.made[name], $0.declarations.autoCreate) }
        if let known { return known }
        return autoCreate.map { made(name, $0) }
    }

    /// The settings a pool named `raw` has or would have if made now, without making it; nil for a name
    /// that is malformed or no pool's.
    func settings(named raw: String) -> LeaseSettings? {
        guard let name = PoolName(rawValue: raw) else { return nil }
        return state.withLock { ($0.declared[name] ?? $0.made[name])?.settings ?? $0.declarations.autoCreate?.settings }
    }

    /// Every pool: the declared ones, then those made on first use anywhere (as Redis lists them).
    func all() async throws(LeaseRefusal) -> [LeaseService] {
        var services = declared
        guard state.withLock({ $0.declarations.autoCreate }) != nil else { return services }
        let names: [PoolName]
        do {
            names = try await schedule.autoCreated()
        } catch {
            throw LeaseRefusal(.redis(error))
        }
        let declaredNames = Set(services.map(\.pool))
        services += names.filter { !declaredNames.contains($0) }.compactMap(existing)
        return services
    }

    /// Puts new declarations in force. A pool whose partition count would change while `liveLeases` says
    /// it has live leases keeps its running settings (all of them) until a later `apply` finds it empty;
    /// returns those pools with why, for the log.
    func apply(_ new: PoolDeclarations, liveLeases: (LeaseService) async -> Int?) async -> [(PoolName, String)] {
        let running = state.withLock { $0.declared }
        var heldBack: [(PoolName, String)] = []
        var held: [PoolName: LeaseSettings] = [:]
        var next: [PoolName: LeaseService] = [:]
        var inForce = new
        for (index, pool) in new.pools.enumerated() {
            guard let current = running[pool.name] else {
                next[pool.name] = makeService(pool.name, pool.settings, pool.name.rawValue)
                continue
            }
            if current.settings == pool.settings {
                next[pool.name] = current
                continue
            }
            if current.settings.partitionCount != pool.settings.partitionCount {
                let live = await liveLeases(current)
                if live != 0 {
                    let count = live.map { "\($0) live leases" } ?? "live leases it could not count (Redis did not answer)"
                    heldBack.append(
                        (
                            pool.name,
                            "partitions cannot change from \(current.settings.partitionCount) to \(pool.settings.partitionCount) while the pool has \(count); it keeps its running settings until it has none"
                        ))
                    held[pool.name] = pool.settings
                    next[pool.name] = current
                    inForce.pools[index].settings = current.settings
                    continue
                }
            }
            next[pool.name] = makeService(pool.name, pool.settings, pool.name.rawValue)
        }
        state.withLock { state in
            if state.declarations.autoCreate != new.autoCreate { state.made = [:] }
            state.declarations = inForce
            state.declared = next
            state.held = held
        }
        for pool in new.pools { next[pool.name]?.poolMetrics.settingsPending.record(held[pool.name] == nil ? 0 : 1) }
        return heldBack
    }

    private func made(_ name: PoolName, _ autoCreate: PoolDeclarations.AutoCreate) -> LeaseService {
        state.withLock { state in
            if let existing = state.made[name] { return existing }
            let service = makeService(name, autoCreate.settings, Self.madeLabel)
            state.made[name] = service
            return service
        }
    }
}

extension PoolDirectory {
    /// `GET /v1/pools`: every pool with its settings and live counts (two reads per pool).
    func list() async throws(LeaseRefusal) -> PoolList {
        let services = try await all()
        let (declaredNames, held, autoCreate) = state.withLock {
            (Set($0.declared.keys), $0.held, $0.declarations.autoCreate)
        }
        var summaries: [PoolSummary] = []
        for service in services {
            summaries.append(
                try await service.summary(declared: declaredNames.contains(service.pool), settingsPending: held[service.pool] != nil))
        }
        let made = summaries.filter { !$0.declared }.count
        return PoolList(pools: summaries, autoCreate: autoCreate.map { .init(maxPools: $0.maxPools, made: made) })
    }
}
