import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A control-plane or worker process started from the built binaries, its output in a log file.
final class ChildProcess: @unchecked Sendable {
    // @unchecked: Foundation's Process is not Sendable; this wrapper only signals it and waits for it.
    let name: String
    let logPath: String
    private let process = Process()

    init(name: String, executable: String, environment: [String: String], arguments: [String] = [], logDirectory: String) throws {
        self.name = name
        logPath = "\(logDirectory)/\(name).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: "\(SystemBinaries.directory)/\(executable)")
        process.arguments = arguments
        // PATH, and LD_LIBRARY_PATH when scripts/test set one (the librdkafka its Kafka broker needs).
        let inherited = ProcessInfo.processInfo.environment.filter { $0.key == "LD_LIBRARY_PATH" }
        process.environment = environment.merging(
            inherited.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { a, _ in a }
        ) { a, _ in a }
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var pid: pid_t { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func signal(_ signal: Int32) { kill(pid, signal) }

    /// Waits up to `timeout` for the process to exit; its exit status, or nil if it is still running.
    func waitForExit(timeout: Duration) async -> Int32? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while process.isRunning && clock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// SIGKILL (also after SIGSTOP) and reap.
    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGKILL)
        kill(pid, SIGCONT)
        process.waitUntilExit()
    }

    /// The last lines of the log, for failure messages.
    func logTail(_ lines: Int = 30) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).map { String($0.prefix(300)) }.joined(separator: "\n")
    }
}

/// Where the build put the `control-plane` and `worker` binaries: ROLLCALL_BIN_DIR (scripts/test), else
/// the statically linked ones beside the test runner (scripts/lib/build.sh), else SwiftPM's own.
enum SystemBinaries {
    static let directory: String = {
        if let dir = ProcessInfo.processInfo.environment["ROLLCALL_BIN_DIR"] { return dir }
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        // The test runner sits in the products directory (…/debug/RollcallPackageTests.xctest), beside the binaries.
        for candidate in [runner.appendingPathComponent("static"), runner, runner.deletingLastPathComponent()]
        where FileManager.default.fileExists(atPath: candidate.path + "/worker") {
            return candidate.path
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.path + "/.build/debug"
    }()
}
