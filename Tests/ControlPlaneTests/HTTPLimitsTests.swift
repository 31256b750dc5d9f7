import Foundation
import Hummingbird
import HummingbirdTesting
import ServerSupport
import TestSupport
import Testing

@testable import ControlPlane

/// What one connection may cost, over real sockets: slow headers and idle keep-alive connections are
/// closed after the header timeout, HTTP/1.0 connections after their answer.
@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct HTTPLimitsTests {
    func harness() throws -> ControlPlaneHarness {
        var configuration = try ControlPlaneConfiguration.test()
        configuration.http.headerTimeout = .milliseconds(500)
        configuration.http.idleTimeout = .seconds(2)
        return try ControlPlaneHarness(configuration)
    }

    @Test("a request head trickled in slower than the header timeout is cut off, not answered")
    func slowHeaders() async throws {
        let harness = try harness()
        try await harness.testLive { port in
            // 10 s of trickle against a 500 ms header timeout: the cut comes long before the end, also when
            // the machine is so busy that the server's timer fires seconds late.
            let request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + String(repeating: "a", count: 170) + "\r\n\r\n"
            let (text, closedAfter) = try await RawHTTP.trickle(port: port, request, every: .milliseconds(50))
            #expect(!text.contains("200 OK"), "\(text)")
            #expect(closedAfter != nil, "the connection was neither closed nor reset")
        }
    }

    @Test("an idle keep-alive connection is closed after the header timeout")
    func idleKeepAlive() async throws {
        let harness = try harness()
        try await harness.testLive { port in
            let (text, closed) = try await RawHTTP.readUntilClose(
                port: port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout: .seconds(10))
            #expect(text.hasPrefix("HTTP/1.1 200"))
            #expect(closed, "the idle connection was still open after 10 s")
        }
    }

    @Test("a connection asking again and again stays open past the header timeout, and is closed once it idles")
    func busyThenIdle() async throws {
        let harness = try harness()
        try await harness.testLive { port in
            // 8 requests 200 ms apart: 1.6 s on one connection against a 500 ms header timeout, whose one
            // timer fires while requests still come and must wait on for the deadline each answer moved.
            let (answered, closed) = try await RawHTTP.paced(
                port: port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", count: 8, every: .milliseconds(200), timeout: .seconds(30))
            #expect(answered == 8, "only \(answered) of 8 requests were answered")
            // Long after the 500 ms: in the whole suite run in parallel, this connection was closed 16 s
            // after its last answer, with this timer and with the one scheduled per request before it alike.
            #expect(closed, "the connection was still open 30 s after its last answer")
        }
    }

    @Test("HTTP/1.0 without keep-alive is closed after the answer; with keep-alive it stays open for the next request")
    func http10() async throws {
        let harness = try harness()
        try await harness.testLive { port in
            // Two requests on one connection: the first without keep-alive ends it, so the second is never answered.
            let plain = try await RawHTTP.readUntilClose(
                port: port, "GET /healthz HTTP/1.0\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n", timeout: .seconds(5))
            #expect(plain.text.components(separatedBy: "200 OK").count - 1 == 1, "\(plain.text)")
            #expect(plain.closed, "an HTTP/1.0 connection stayed open after its answer")
            // With keep-alive, the second is answered too, and then the connection closes.
            let kept = try await RawHTTP.readUntilClose(
                port: port, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n", timeout: .seconds(5))
            #expect(kept.text.components(separatedBy: "200 OK").count - 1 == 2, "\(kept.text)")
            #expect(kept.closed)
        }
    }

    @Test("the limits come from flags or HTTP_* variables, and bad values are refused")
    func settings() throws {
        let limits = try HTTPLimitOptions.parse([]).resolve(
            Settings(environment: ["HTTP_HEADER_TIMEOUT": "3s", "HTTP_IDLE_TIMEOUT": "1m", "HTTP_MAX_CONNECTIONS": "100"]))
        #expect(limits.headerTimeout == .seconds(3) && limits.idleTimeout == .seconds(60) && limits.maxConnections == 100)
        #expect(try HTTPLimitOptions.parse([]).resolve(Settings(environment: [:])) == HTTPLimits())
        let flags = try HTTPLimitOptions.parse(["--http-max-connections", "7"]).resolve(
            Settings(environment: ["HTTP_MAX_CONNECTIONS": "100"]))
        #expect(flags.maxConnections == 7)
        #expect(throws: (any Error).self) { try HTTPLimitOptions.parse([]).resolve(Settings(environment: ["HTTP_MAX_CONNECTIONS": "0"])) }
        #expect(throws: (any Error).self) { try HTTPLimitOptions.parse([]).resolve(Settings(environment: ["HTTP_HEADER_TIMEOUT": "soon"])) }
    }
}

@Suite(.enabled(if: TestServers.runRedisTests, "needs ROLLCALL_TEST_REDIS_URL (scripts/test sets it)"))
struct OpenAPIRouteTests {
    @Test("GET /v1/openapi.yaml serves docs/openapi.yaml; GET /openapi.yaml is still the podnum shortcut for that name")
    func servesTheDocument() async throws {
        try await ControlPlaneHarness(.test()).test { client async throws in
            let document = try await client.get("/v1/openapi.yaml")
            #expect(document.status == .ok)
            #expect(document.headers[.contentType] == "application/yaml")
            #expect(String(buffer: document.body) == OpenAPIDocument.yaml)
            #expect(OpenAPIDocument.yaml.hasPrefix("openapi: 3.1.0"))
            let shortcut = try await client.get("/openapi.yaml")
            #expect(shortcut.status == .ok && String(buffer: shortcut.body) == "0\n")
        }
    }
}
