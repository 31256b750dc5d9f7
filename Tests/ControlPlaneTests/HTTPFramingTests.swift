import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import ControlPlane

/// Requests no HTTP client would send, over a real socket: each is the client's mistake, so each gets a
/// 4xx with a JSON body that names no parser internals, and the server carries on.
@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct HTTPFramingTests {
    static let head = "POST /v1/workers/pod-a/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"

    @Test(
        "broken chunked framing gets 400 JSON, never 500",
        arguments: [
            "9\r\n{\"i\r\n0\r\n\r\n", "zz\r\n{}\r\n0\r\n\r\n", " 5\r\n{\"a\":\r\n0\r\n\r\n", "-1\r\n{}\r\n0\r\n\r\n",
            "0x5\r\n{}\r\n0\r\n\r\n",
        ])
    func brokenChunks(body: String) async throws {
        let harness = try ControlPlaneHarness(.test())
        try await harness.testLive { port in
            let answer = try await RawHTTP.exchange(port: port, Self.head + "Transfer-Encoding: chunked\r\n\r\n" + body)
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
            #expect(answer.contains(#""error":"#))
            #expect(!answer.contains("http_parser"))
            #expect(try await harness.leases.workers().isEmpty)
        }
    }

    @Test("a body cut off mid-stream (the client gave up) gets 400, not 500, and leases nothing")
    func truncatedBody() async throws {
        let harness = try ControlPlaneHarness(.test())
        try await harness.testLive { port in
            let answer = try await RawHTTP.exchange(
                port: port, Self.head + "Content-Length: 100\r\n\r\n{\"instance\": \"i1\"", halfClose: true)
            #expect(!answer.hasPrefix("HTTP/1.1 5"), "\(answer)")
            #expect(answer.isEmpty || answer.hasPrefix("HTTP/1.1 400"), "closed without an answer, or 400: \(answer)")
            #expect(try await harness.leases.workers().isEmpty)
            // The server is fine afterwards.
            let healthy = try await RawHTTP.exchange(port: port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(healthy.hasPrefix("HTTP/1.1 200"))
        }
    }
}
