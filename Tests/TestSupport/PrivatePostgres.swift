import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A PostgreSQL cluster of the test's own, started and stopped with scripts/lib/servers.sh, so a test
/// may restart, kill or replicate it without disturbing the shared test server.
public struct PrivatePostgres: Sendable {
    public let directory = NSTemporaryDirectory() + "rollcall-pg-\(UInt32.random(in: 0 ... .max))"
    public let port: Int
    public let password: String

    public init(password: String = "pw\(UInt32.random(in: 0 ... .max))") throws {
        port = try RedisServerProcess.freePort()
        self.password = password
    }

    public var url: String { "postgres://postgres:\(password)@127.0.0.1:\(port)/rollcall" }

    public func start() async throws {
        try await ServerScripts.run("rollcall_start_postgres \"$1\" \"$2\" \"$3\" rollcall", directory, String(port), password)
    }

    public func stop() async throws { try await ServerScripts.run("rollcall_stop_postgres \"$1\"", directory) }

    /// A streaming standby of `primary`, started (pg_basebackup -R); the cluster of this value.
    public func startStandby(of primary: PrivatePostgres) async throws {
        try await ServerScripts.run(
            "rollcall_start_postgres_standby \"$1\" \"$2\" \"$3\" \"$4\"", directory, String(port), String(primary.port), primary.password)
    }

    /// Makes commits wait for a standby (`synchronous_standby_names = '*'`), or not.
    public func waitForStandby(_ on: Bool) async throws {
        try await ServerScripts.run("rollcall_postgres_synchronous \"$1\" \"$2\" \"$3\"", directory, String(port), on ? "on" : "off")
    }

    /// Stops this standby's replication (an empty `primary_conninfo`, reloaded): what the primary commits
    /// from now on never reaches it, as an asynchronous standby behind by those commits.
    public func stopReceiving() async throws {
        try await ServerScripts.run("rollcall_postgres_stop_receiving \"$1\" \"$2\"", directory, String(port))
    }

    /// Serves TLS with `certificate` and `key` from now on, and refuses TCP connections without it.
    public func requireSSL(certificate: String, key: String) async throws {
        try await ServerScripts.run("rollcall_postgres_require_ssl \"$1\" \"$2\" \"$3\" \"$4\"", directory, String(port), certificate, key)
    }

    /// Promotes this standby to a primary (`pg_ctl promote`), waiting until it accepts writes.
    public func promote() async throws { try await ServerScripts.run("rollcall_promote_postgres \"$1\"", directory) }

    /// SIGKILLs the postmaster, as a crashed node: its backends notice and exit.
    public func kill() throws {
        let pidLine = try String(contentsOfFile: directory + "/data/postmaster.pid", encoding: .utf8).split(separator: "\n").first
        guard let pid = pidLine.flatMap({ pid_t($0) }) else { return }
        Glibc.kill(pid, SIGKILL)
    }

    /// A primary, started, and an unstarted cluster for its standby (same password), both removed after
    /// `body`: the standby is started once the primary holds what it should copy (`startStandby(of:)`).
    public static func withPrimaryAndStandby(_ body: (PrivatePostgres, PrivatePostgres) async throws -> Void) async throws {
        let primary = try PrivatePostgres()
        let standby = try PrivatePostgres(password: primary.password)
        defer {
            primary.remove()
            standby.remove()
        }
        try await primary.start()
        try await body(primary, standby)
    }

    /// Stops the cluster and deletes its files; blocking, for a `defer`.
    public func remove() {
        try? ServerScripts.runBlocking("rollcall_stop_postgres \"$1\"", [directory])
        try? FileManager.default.removeItem(atPath: directory)
    }
}
