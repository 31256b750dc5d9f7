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

    func start() throws { try Self.servers("rollcall_start_postgres \"$1\" \"$2\" \"$3\" rollcall", directory, String(port), password) }
    func stop() throws { try Self.servers("rollcall_stop_postgres \"$1\"", directory) }

    func remove() {
        try? stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Runs `command` in bash with servers.sh sourced. posix_spawn and waitpid, not Foundation's Process,
    /// whose exit tracking here never saw bash end once pg_ctl had left a postmaster behind.
    private static func servers(_ command: String, _ arguments: String...) throws {
        let argv = ["/bin/bash", "-c", ". \"\(root)/scripts/lib/servers.sh\" && \(command)", "servers"] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/bash", nil, nil, &cArguments, environ) == 0 else { throw Failed(command: command, status: -1) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else { throw Failed(command: command, status: status) }
    }

    struct Failed: Error {
        let command: String
        let status: Int32
    }
}
