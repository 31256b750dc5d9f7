import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The connection limit, on the real `control-plane` binary: past HTTP_MAX_CONNECTIONS a new
/// connection waits in the accept queue and is served once a slot frees.
@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct ConnectionLimitTests {
    @Test("past HTTP_MAX_CONNECTIONS a new connection waits, and is served once a slot frees")
    func connectionLimit() async throws {
        let port = try RedisServerProcess.freePort()
        let logs = NSTemporaryDirectory() + "rollcall-connlimit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let controlPlane = try ChildProcess(
            name: "control-plane", executable: "control-plane",
            environment: [
                "PORT": "\(port)", "HOST": "127.0.0.1", "REDIS_URL": try TestServers.requireRedisURL(),
                "REDIS_KEY_PREFIX": "conn\(UInt32.random(in: 0 ... .max)):", "HTTP_MAX_CONNECTIONS": "2", "HTTP_HEADER_TIMEOUT": "30s",
            ], logDirectory: logs)
        defer { controlPlane.signal(SIGKILL) }
        var ready = false
        for _ in 0..<200 where !ready {
            ready =
                (try? await RawHTTP.readUntilClose(port: port, "GET /healthz HTTP/1.0\r\n\r\n", timeout: .seconds(1)))?.text
                .contains("200 OK") ?? false
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(ready, "the control plane did not start")

        let held = [try RawHTTP.openIdle(port: port), try RawHTTP.openIdle(port: port)]
        try await Task.sleep(for: .milliseconds(300))
        let waiting = try await RawHTTP.readUntilClose(port: port, "GET /healthz HTTP/1.0\r\n\r\n", timeout: .milliseconds(800))
        #expect(waiting.text.isEmpty, "a third connection was served past the limit of 2: \(waiting.text)")
        for fd in held { close(fd) }
        let served = try await RawHTTP.readUntilClose(port: port, "GET /healthz HTTP/1.0\r\n\r\n", timeout: .seconds(5))
        #expect(served.text.contains("200 OK"))
    }
}
