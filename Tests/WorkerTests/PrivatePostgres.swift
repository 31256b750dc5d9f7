import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A PostgreSQL cluster of the test's own, started and stopped with scripts/lib/servers.sh, so a test
/// may restart it without disturbing the shared test server.
struct PrivatePostgres {
    let directory = NSTemporaryDirectory() + "rollcall-pg-\(UInt32.random(in: 0 ... .max))"
    let port: Int
    let password = "pw\(UInt32.random(in: 0 ... .max))"

    init() throws { port = try RedisServerProcess.freePort() }

    var url: String { "postgres://postgres:\(password)@127.0.0.1:\(port)/rollcall" }

    func start() async throws {
        try await ServerScripts.run("rollcall_start_postgres \"$1\" \"$2\" \"$3\" rollcall", directory, String(port), password)
    }
    func stop() async throws { try await ServerScripts.run("rollcall_stop_postgres \"$1\"", directory) }

    /// Stops the cluster and deletes its files; blocking, for a `defer`.
    func remove() {
        try? ServerScripts.runBlocking("rollcall_stop_postgres \"$1\"", [directory])
        try? FileManager.default.removeItem(atPath: directory)
    }
}
