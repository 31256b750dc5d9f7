import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One primary, two replicas and three Sentinels on loopback (scripts/lib/redis-ha.sh, the same setup
/// scripts/chaos uses), for tests of failover. Needs `redis-server` and `redis-sentinel` (scripts/test
/// installs them). Everything is killed on `stop()` or deinit.
public final class RedisHASetup: Sendable {
    public let directory: URL
    /// The ports of node0, node1, node2; node0 starts as the primary.
    public let nodePorts: [Int]
    public let sentinelPorts: [Int]

    /// Starts all six and waits until the replicas are in sync and the Sentinels know each other.
    public init() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rollcall-ha-\(UUID().uuidString)")
        self.directory = directory
        try await ServerScripts.run("rollcall_redis_ha_start \"$1\"", directory.path)
        nodePorts = try (0..<3).map { try Self.port(directory.appendingPathComponent("node\($0)/port")) }
        sentinelPorts = try (0..<3).map { try Self.port(directory.appendingPathComponent("sentinel\($0)/port")) }
    }

    /// `REDIS_SENTINELS` for this setup.
    public var sentinels: String { sentinelPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",") }

    /// The port the Sentinels now name as the primary's.
    public func primaryPort() async throws -> Int {
        let file = directory.appendingPathComponent("primary-port")
        try await ServerScripts.run("rollcall_redis_ha_primary_port \"$1\" > \"$1/primary-port\"", directory.path)
        return try Self.port(file)
    }

    /// Sends `signal` to node `index` (SIGKILL, SIGSTOP, SIGCONT).
    public func signal(node index: Int, _ signal: Int32) throws {
        let pid = try Self.port(directory.appendingPathComponent("node\(index)/redis.pid"))
        kill(pid_t(pid), signal)
        if signal == SIGKILL { try? FileManager.default.removeItem(at: directory.appendingPathComponent("node\(index)/redis.pid")) }
    }

    /// Sends `signal` to Sentinel `index` (SIGSTOP, SIGCONT).
    public func signal(sentinel index: Int, _ signal: Int32) throws {
        let pid = try Self.port(directory.appendingPathComponent("sentinel\(index)/sentinel.pid"))
        kill(pid_t(pid), signal)
    }

    /// The node whose port is `port`.
    public func node(port: Int) -> Int? { nodePorts.firstIndex(of: port) }

    /// Waits until the Sentinels name a primary other than `port`; returns the new one's port.
    public func awaitFailover(from port: Int, within limit: Duration = .seconds(30)) async throws -> Int {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let current = try? await primaryPort(), current > 0, current != port { return current }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw RedisServerProcess.ServerError(message: "no failover away from \(port) within \(limit)")
    }

    /// Kills all six; blocking (it is called from deinit), and quick: signals only.
    public func stop() { try? ServerScripts.runBlocking("rollcall_redis_ha_stop \"$1\"", [directory.path]) }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    private static func port(_ file: URL) throws -> Int {
        guard let value = Int(try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw RedisServerProcess.ServerError(message: "no number in \(file.path)")
        }
        return value
    }
}
