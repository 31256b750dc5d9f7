import Synchronization

/// Finds the Redis primary every new pooled connection goes to, and notices when it moves.
///
/// With one address (`REDIS_URL`) that address is the primary. With Sentinels, every new connection
/// asks them (`SENTINEL get-master-addr-by-name`, first Sentinel that answers) and then asks the node
/// itself (`ROLE`): a node that is not a primary is refused, whatever a Sentinel said. A failover is
/// followed three ways, whichever comes first: the old primary's connections break (it died), it answers
/// READONLY or LOADING (it was demoted or restarted), or a Sentinel publishes `+switch-master` (it was
/// paused, or is about to be demoted). Each moves the primary term on, and `RedisPool` drops every
/// connection made in an older term before its next use.
final class RedisPrimaryLocator: Sendable {
    private struct State {
        var term = 0
        var primary: String? = nil
        var stopped = false
        /// The `+switch-master` subscription's connection, closed to stop the watcher.
        var subscription: RedisConnection? = nil
    }

    let configuration: RedisConfiguration
    private let state = Mutex(State())
    private let onChange: @Sendable (_ old: String?, _ new: String) -> Void
    /// The task that follows `+switch-master` (with Sentinels only).
    private let watcher = Mutex<Task<Void, Never>?>(nil)

    init(configuration: RedisConfiguration, onChange: @escaping @Sendable (_ old: String?, _ new: String) -> Void) {
        self.configuration = configuration
        self.onChange = onChange
        if configuration.sentinel != nil {
            watcher.withLock { $0 = Task { [self] in await watch() } }
        }
    }

    /// The primary's `host:port` as last learned, nil before the first connection.
    var primary: String? { state.withLock { $0.primary } }

    /// A new connection to the current primary, stamped with the current term.
    func connect() async throws(RedisError) -> RedisConnection {
        guard let sentinel = configuration.sentinel else {
            let connection = try await RedisConnection.connect(configuration)
            connection.primaryTerm = note(primary: configuration.address)
            return connection
        }
        let (host, port) = try await askSentinels(sentinel)
        let node = configuration.node(
            host: host, port: port, username: configuration.username, password: configuration.password, database: configuration.database)
        let term = note(primary: node.address)
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

    /// Stops the `+switch-master` watcher.
    func shutdown() async {
        let subscription = state.withLock { state in
            state.stopped = true
            return state.subscription
        }
        subscription?.close()
        let task = watcher.withLock { $0 }
        task?.cancel()
        await task?.value
    }

    /// Records `address` as the primary; a new one moves the term on and is reported. Returns the term.
    @discardableResult
    private func note(primary address: String) -> Int {
        let (term, old, changed) = state.withLock { state -> (Int, String?, Bool) in
            let old = state.primary
            guard old != address else { return (state.term, old, false) }
            state.primary = address
            state.term += 1
            return (state.term, old, true)
        }
        if changed { onChange(old, address) }
        return term
    }

    private func sentinelNode(_ endpoint: RedisSentinelConfiguration.Endpoint, _ sentinel: RedisSentinelConfiguration) -> RedisConfiguration
    {
        configuration.node(host: endpoint.host, port: endpoint.port, username: nil, password: sentinel.password, database: 0)
    }

    private func askSentinels(_ sentinel: RedisSentinelConfiguration) async throws(RedisError) -> (String, Int) {
        var failures: [String] = []
        for endpoint in sentinel.sentinels {
            do throws(RedisError) {
                let connection = try await RedisConnection.connect(sentinelNode(endpoint, sentinel))
                defer { connection.close() }
                let reply = try await connection.command(
                    ["SENTINEL", "get-master-addr-by-name", sentinel.masterName].map { Array($0.utf8) })
                guard let fields = reply.array, fields.count == 2, let host = fields[0].string,
                    let port = fields[1].string.flatMap({ Int($0) })
                else {
                    failures.append("\(endpoint): does not know \(sentinel.masterName) (\(reply))")
                    continue
                }
                let master = try await connection.command(["SENTINEL", "MASTER", sentinel.masterName].map { Array($0.utf8) })
                if Self.failoverInProgress(master.array?.map { $0.string ?? "" } ?? []) {
                    failures.append("\(endpoint): a failover of \(sentinel.masterName) is in progress")
                    continue
                }
                return (host, port)
            } catch {
                failures.append("\(endpoint): \(error)")
            }
        }
        throw .connectFailed(
            address: "Sentinels " + sentinel.sentinels.map(\.description).joined(separator: ","), call: "SENTINEL get-master-addr-by-name",
            message: failures.joined(separator: "; "))
    }

    /// Whether a `SENTINEL MASTER` reply (flat field/value pairs) shows this Sentinel leading a failover.
    ///
    /// Its leader names the promoted replica as soon as it is promoted, while the old primary may still
    /// have a replica attached and acknowledge writes (`WAIT`) until the leader has reconfigured it. A
    /// store that began serving (and waiting out lost state) before then could see an acknowledged grant
    /// of the old primary end after its wait: scripts/chaos found it. So the promoted replica is used only
    /// once the failover is over, when no replica is left to acknowledge for the old primary; until
    /// then the other Sentinels still name the old one, and what it acknowledges is inside the new
    /// primary's wait.
    static func failoverInProgress(_ fields: [String]) -> Bool {
        var index = 0
        while index + 1 < fields.count {
            if fields[index] == "flags" { return fields[index + 1].split(separator: ",").contains("failover_in_progress") }
            index += 2
        }
        return false
    }

    private var stopped: Bool { state.withLock { $0.stopped } }

    /// Subscribes to `+switch-master` on one Sentinel after another until stopped; each message for our
    /// master name moves the primary at once, before any connection to the old one has failed.
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
                    note(primary: RedisConfiguration.address(host: fields[3], port: port))
                }
            } catch {
                // That Sentinel is down or unreachable: the next one, after a short pause.
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }
}
