import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the repository's server helpers (scripts/lib/servers.sh, scripts/lib/redis-ha.sh) from tests.
public enum ServerScripts {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Runs `command` in bash with both helpers sourced; `arguments` are `$1`, `$2`, …; on a thread of its
    /// own (`onOwnThread`): starting servers takes seconds.
    public static func run(_ command: String, _ arguments: String...) async throws {
        try await onOwnThread { try runBlocking(command, arguments) }
    }

    /// The same, blocking the caller: only for cleanup that cannot await (`defer`, `deinit`). posix_spawn
    /// and waitpid, not Foundation's Process, whose exit tracking here never saw bash end once it had left
    /// a daemon (a postmaster, a redis-server) behind.
    public static func runBlocking(_ command: String, _ arguments: [String]) throws {
        let helpers = ". \"\(root)/scripts/lib/servers.sh\" && . \"\(root)/scripts/lib/redis-ha.sh\""
        let argv = ["/bin/bash", "-c", "\(helpers) && \(command)", "servers"] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/bash", nil, nil, &cArguments, environ) == 0 else { throw Failed(command: command, status: -1) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else { throw Failed(command: command, status: status) }
    }

    public struct Failed: Error, CustomStringConvertible {
        public let command: String
        public let status: Int32
        public var description: String { "\(command) failed with wait status \(status)" }
    }
}
