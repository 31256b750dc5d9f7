import Synchronization

/// Finds the Redis primary every new pooled connection goes to, and notices when it moves.
///
/// With one address (`REDIS_URL`) that address is the primary. With Sentinels the primary is leased:
/// every tenth of `primaryLease` every Sentinel is asked `SENTINEL MASTER` (each on a task of its own),
/// and the node the latest answers of a majority name is the primary, written to only until
/// `primaryLease` after the oldest of those asks (`awaitConfirmation`, before every write). A new
/// connection goes to that node and asks it `ROLE`: a node that is not a primary is refused, whatever
/// the Sentinels said. A majority naming another node moves the primary term on, and `RedisPool`
/// drops every connection made in an older term before its next use; a `+switch-master` from any
/// Sentinel ends the current primary's confirmation at once.
///
/// Why a lease: a node that still answers as a primary, with a replica still attached, acknowledges
/// writes (`WAIT`) after the Sentinels promoted another, and a control plane that has not heard of the
/// failover writes there while another serves on the promoted node (scripts/chaos found two clients
/// safe on one number for 118 ms: the failover's leader, which a control plane listened to, said
/// `+switch-master` only when it ended its failover by timeout). Two majorities share a Sentinel, and
/// a Sentinel names one node at a time, so the old primary's last write is sent less than
/// `primaryLease` after the promoted node's first; the lost-state wait on the promoted node is that
/// much longer (docs/design.md, "The primary is leased").
final class RedisPrimaryLocator: Sendable {
    /// A Redis node as a Sentinel names it.
    private struct Node: Equatable {
        var host: String
        var port: Int
        /// `host:port`, for messages and `RedisPool.primary`.
        var address: String { RedisConfiguration.address(host: host, port: port) }
    }

    private struct State {
        var term = 0
        var primary: Node? = nil
        /// Until when a majority of the Sentinels confirmed `primary` (nil: not confirmed).
        var confirmedUntil: ContinuousClock.Instant? = nil
        /// Each Sentinel's latest answer: the node it named, and when it was asked.
        var answers: [Int: (node: Node, askedAt: ContinuousClock.Instant)] = [:]
        var stopped = false
        /// The `+switch-master` subscription's connection, closed to stop the watcher.
        var subscription: RedisConnection? = nil
    }

    let configuration: RedisConfiguration
    private let state = Mutex(State())
    private let onChange: @Sendable (_ old: String?, _ new: String) -> Void
    /// The tasks that follow `+switch-master` and confirm the primary (with Sentinels only).
    private let watchers = Mutex<[Task<Void, Never>]>([])

    /// Whether writes wait for the Sentinels' confirmation (with Sentinels only).
    private let leased: Bool

    init(configuration: RedisConfiguration, onChange: @escaping @Sendable (_ old: String?, _ new: String) -> Void) {
        self.configuration = configuration
        self.onChange = onChange
        leased = configuration.sentinel != nil
        if configuration.sentinel != nil {
            watchers.withLock { $0 = [Task { [self] in await watch() }, Task { [self] in await confirm() }] }
        }
    }

    /// The primary's `host:port` as last learned, nil before the first connection.
    var primary: String? { state.withLock { $0.primary?.address } }

    /// A new connection to the current primary, stamped with the current term.
    func connect() async throws(RedisError) -> RedisConnection {
        guard let sentinel = configuration.sentinel else {
            let connection = try await RedisConnection.connect(configuration)
            connection.primaryTerm = note(primary: Node(host: configuration.host, port: configuration.port))
            return connection
        }
        // The node a majority of the Sentinels names, waited for (the confirmation rounds run on their own).
        let (primary, term) = try await poll(for: configuration.connectTimeout) { () throws(RedisError) in
            confirmedPrimary
        } timedOut: {
            .connectFailed(
                address: "Sentinels " + sentinel.sentinels.map(\.description).joined(separator: ","), call: "SENTINEL MASTER",
                message: "no majority of them named one primary within \(configuration.connectTimeout)")
        }
        let node = configuration.node(
            host: primary.host, port: primary.port, username: configuration.username, password: configuration.password,
            database: configuration.database)
        let connection = try await RedisConnection.connect(node)
        do {
            try await connection.requirePrimary()
        } catch .notPrimary(let address, let message) {
            connection.close()
            throw .connectFailed(address: address, call: "ROLE", message: "the Sentinels name it the primary, but \(message)")
        }
        connection.primaryTerm = term
        return connection
    }

    /// Whether `connection` was made for the current primary.
    func isCurrent(_ connection: RedisConnection) -> Bool { state.withLock { $0.term == connection.primaryTerm } }

    /// Returns once `connection`'s node is the primary a majority of the Sentinels confirmed within the
    /// primary lease (at once without Sentinels). Throws `notPrimary` when the primary moved on (the
    /// caller takes a new connection), `primaryUnconfirmed` when no confirmation came within the command
    /// timeout. Called before every write, so nothing is sent to a node the Sentinels may have left.
    func awaitConfirmation(of connection: RedisConnection) async throws(RedisError) {
        guard leased else { return }
        try await poll(for: configuration.commandTimeout) { () throws(RedisError) -> Void? in
            let now = ContinuousClock.now
            let (current, confirmed) = state.withLock { state in
                (state.term == connection.primaryTerm, state.confirmedUntil.map { now < $0 } ?? false)
            }
            guard current else { throw .notPrimary(address: connection.address, message: "the Sentinels moved the primary on") }
            return confirmed ? () : nil
        } timedOut: {
            .primaryUnconfirmed(
                address: connection.address,
                message: "no majority of the Sentinels named it within \(configuration.primaryLease) for \(configuration.commandTimeout)")
        }
    }

    /// What `ready` returns once it returns something, asked every 5 ms for at most `limit`: past it, or
    /// once the locator is stopped, `timedOut()` is thrown. An error `ready` throws ends the wait.
    private func poll<T>(
        for limit: Duration, _ ready: () throws(RedisError) -> T?, timedOut: () -> RedisError
    ) async throws(RedisError) -> T {
        let deadline = ContinuousClock.now + limit
        while true {
            if let value = try ready() { return value }
            guard ContinuousClock.now < deadline, !stopped else { throw timedOut() }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The primary as a majority of the Sentinels confirmed it, with its term, while the confirmation holds.
    private var confirmedPrimary: (Node, term: Int)? {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let primary = state.primary, let until = state.confirmedUntil, now < until else { return nil }
            return (primary, state.term)
        }
    }

    /// Stops following the Sentinels (the `+switch-master` watcher and the confirmation rounds).
    func shutdown() async {
        let subscription = state.withLock { state in
            state.stopped = true
            return state.subscription
        }
        subscription?.close()
        for task in watchers.withLock({ $0 }) {
            task.cancel()
            await task.value
        }
    }

    /// Records `node` as the primary; a new one moves the term on (unconfirmed) and is reported. With
    /// `confirmedUntil`, a majority of the Sentinels named it: it may be written to until then. Returns
    /// the term.
    @discardableResult
    private func note(primary node: Node, confirmedUntil: ContinuousClock.Instant? = nil) -> Int {
        let (term, old, changed) = state.withLock { state -> (Int, Node?, Bool) in
            let old = state.primary
            if old != node {
                state.primary = node
                state.term += 1
                state.confirmedUntil = nil
            }
            if let confirmedUntil { state.confirmedUntil = max(state.confirmedUntil ?? confirmedUntil, confirmedUntil) }
            return (state.term, old, old != node)
        }
        if changed { onChange(old?.address, node.address) }
        return term
    }

    /// A Sentinel moved on to `node`: the current primary, if another, is written to no more until a
    /// majority of the Sentinels names it again (its confirmation ends now), and a majority naming
    /// `node` makes that the primary (`record`).
    private func endConfirmation(unless node: Node) {
        state.withLock { state in
            if state.primary != node { state.confirmedUntil = nil }
        }
    }

    /// Asks every Sentinel `SENTINEL MASTER` every tenth of the primary lease until stopped, each on a
    /// task of its own (a slow or dead one delays no other); see `record`.
    private func confirm() async {
        guard let sentinel = configuration.sentinel else { return }
        await withTaskGroup(of: Void.self) { group in
            for (index, endpoint) in sentinel.sentinels.enumerated() {
                group.addTask { await self.follow(endpoint, sentinel, index: index) }
            }
        }
    }

    /// One Sentinel's rounds: what it names, each answer recorded with the moment it was asked for.
    private func follow(_ endpoint: RedisSentinelConfiguration.Endpoint, _ sentinel: RedisSentinelConfiguration, index: Int) async {
        let lease = configuration.primaryLease
        var node = sentinelNode(endpoint, sentinel)
        node.connectTimeout = lease / 2
        node.commandTimeout = lease / 2
        let command = ["SENTINEL", "MASTER", sentinel.masterName].map { Array($0.utf8) }
        var connection: RedisConnection? = nil
        defer { connection?.close() }
        while !stopped && !Task.isCancelled {
            let asked = ContinuousClock.now
            do throws(RedisError) {
                if connection == nil || connection?.hasFailed == true {
                    connection?.close()
                    connection = try await RedisConnection.connect(node)
                }
                let fields = try await connection!.command(command).array?.map { $0.string ?? "" } ?? []
                var values: [String: String] = [:]
                for pair in stride(from: 0, to: fields.count - 1, by: 2) { values[fields[pair]] = fields[pair + 1] }
                if let host = values["ip"], let port = values["port"].flatMap({ Int($0) }) {
                    record(Node(host: host, port: port), askedAt: asked, by: index, of: sentinel.sentinels.count)
                }
            } catch {
                connection?.close()
                connection = nil
            }
            try? await Task.sleep(until: asked + lease / 10, clock: .continuous)
        }
    }

    /// Records that Sentinel `index` named `node` when asked at `askedAt`. When the latest answers of a
    /// majority name it, it is the primary, confirmed until the lease after the oldest of those asks:
    /// each of them named it at or after its ask, and none of them can have named another since
    /// before that (a Sentinel moves on only after it answered), so no majority named another node
    /// before then either.
    private func record(_ node: Node, askedAt: ContinuousClock.Instant, by index: Int, of count: Int) {
        let lease = configuration.primaryLease
        let confirmedUntil = state.withLock { state -> ContinuousClock.Instant? in
            state.answers[index] = (node, askedAt)
            let asks = state.answers.values.filter { $0.node == node }.map(\.askedAt).sorted(by: >)
            let majority = count / 2 + 1
            return asks.count >= majority ? asks[majority - 1] + lease : nil
        }
        if let confirmedUntil { note(primary: node, confirmedUntil: confirmedUntil) }
    }

    private func sentinelNode(_ endpoint: RedisSentinelConfiguration.Endpoint, _ sentinel: RedisSentinelConfiguration) -> RedisConfiguration
    {
        configuration.node(host: endpoint.host, port: endpoint.port, username: nil, password: sentinel.password, database: 0)
    }

    private var stopped: Bool { state.withLock { $0.stopped } }

    /// Subscribes to `+switch-master` on one Sentinel after another until stopped; each message for our
    /// master name ends the old primary's confirmation at once, before the next round of asks.
    private func watch() async {
        guard let sentinel = configuration.sentinel else { return }
        var index = 0
        while !stopped && !Task.isCancelled {
            let endpoint = sentinel.sentinels[index % sentinel.sentinels.count]
            index += 1
            do throws(RedisError) {
                let connection = try await RedisConnection.connect(sentinelNode(endpoint, sentinel), subscriber: true)
                defer { connection.close() }
                let stop = state.withLock { state in
                    state.subscription = connection
                    return state.stopped
                }
                if stop { return }
                _ = try await connection.command(["SUBSCRIBE", "+switch-master"].map { Array($0.utf8) })
                guard let pushes = connection.pushes else { return }
                // Ends when the connection breaks (that Sentinel died) or is closed by `shutdown`.
                for await message in pushes {
                    guard let parts = message.array, parts.count == 3, parts[0].string == "message", let payload = parts[2].string else {
                        continue
                    }
                    // "<name> <old-ip> <old-port> <new-ip> <new-port>"
                    let fields = payload.split(separator: " ").map(String.init)
                    guard fields.count == 5, fields[0] == sentinel.masterName, let port = Int(fields[4]) else { continue }
                    endConfirmation(unless: Node(host: fields[3], port: port))
                }
            } catch {
                // That Sentinel is down or unreachable: the next one, after a short pause.
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }
}
