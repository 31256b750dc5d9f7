import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Sends raw bytes to a server on 127.0.0.1 and reads what it answers until it closes or `timeout`
/// passes: for requests no HTTP client would send (broken chunked framing, bodies cut off).
public enum RawHTTP {
    /// Writes `request`; if `halfClose`, shuts the write side down afterwards (a client that gave up
    /// mid-body). Returns the text read back. The blocking socket calls run on a thread of their own,
    /// never on the concurrency pool the server under test needs.
    public static func exchange(
        port: Int, _ request: String, halfClose: Bool = false, timeout: Duration = .seconds(5)
    ) async throws -> String {
        try await onOwnThread { try blockingExchange(port: port, request, halfClose: halfClose, timeout: timeout) }
    }

    /// Sends `request` one byte every `interval`, then reads until the server closes or `timeout`
    /// passes. Returns what was read and whether (and after how long) the server closed the connection.
    public static func trickle(
        port: Int, _ request: String, every interval: Duration, timeout: Duration = .seconds(5)
    ) async throws -> (text: String, closedAfter: Duration?) {
        try await onOwnThread {
            let start = ContinuousClock.now
            let fd = try connected(port: port, timeout: timeout)
            defer { close(fd) }
            for byte in Array(request.utf8) {
                guard send(fd, [byte], 1, Int32(MSG_NOSIGNAL)) == 1 else { return ("", ContinuousClock.now - start) }
                pause(interval)
            }
            let (text, closed) = readAll(fd)
            return (text, closed ? ContinuousClock.now - start : nil)
        }
    }

    /// Sends `request` and reads until the server closes the connection or `timeout` passes.
    public static func readUntilClose(port: Int, _ request: String, timeout: Duration) async throws -> (text: String, closed: Bool) {
        try await onOwnThread {
            let fd = try connected(port: port, timeout: timeout)
            defer { close(fd) }
            let bytes = Array(request.utf8)
            guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
                throw RawHTTPError(message: "send failed")
            }
            return readAll(fd)
        }
    }

    /// Sends `request` `count` times on one connection, `interval` apart, each after the previous answer
    /// came; then reads until the server closes or `timeout` passes. Returns how many were answered and
    /// whether the server closed the connection.
    public static func paced(
        port: Int, _ request: String, count: Int, every interval: Duration, timeout: Duration
    ) async throws -> (answered: Int, closed: Bool) {
        try await onOwnThread {
            let fd = try connected(port: port, timeout: timeout)
            defer { close(fd) }
            let bytes = Array(request.utf8)
            var answered = 0
            for _ in 0..<count {
                guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { return (answered, true) }
                let (text, closed) = readAll(fd, untilAnswered: true)
                if text.hasPrefix("HTTP/1.1 200") { answered += 1 }
                if closed { return (answered, true) }
                pause(interval)
            }
            return (answered, readAll(fd).1)
        }
    }

    /// Blocks the calling thread (never one of the concurrency pool's) for `interval`.
    private static func pause(_ interval: Duration) {
        Thread.sleep(forTimeInterval: Double(interval.components.attoseconds) / 1e18 + Double(interval.components.seconds))
    }

    /// Opens a connection and sends nothing: it holds one of the server's connection slots until `close`.
    public static func openIdle(port: Int) throws -> Int32 { try connected(port: port, timeout: .seconds(1)) }

    private static func connected(port: Int, timeout: Duration) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RawHTTPError(message: "socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw RawHTTPError(message: "connect to \(port) failed")
        }
        var wait = timeval(
            tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// Reads until EOF (true) or the receive timeout (false); with `untilAnswered`, also stops once one
    /// whole answer (its body sized by Content-Length) has arrived.
    private static func readAll(_ fd: Int32, untilAnswered: Bool = false) -> (String, Bool) {
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count < 0, errno == EINTR { continue }
            // A reset is the server closing too: it closed with bytes of ours unread, or ours arrived after.
            if count < 0, errno == ECONNRESET { return (String(decoding: answer, as: UTF8.self), true) }
            if count < 0 { return (String(decoding: answer, as: UTF8.self), false) }
            if count == 0 { return (String(decoding: answer, as: UTF8.self), true) }
            answer += buffer[0..<count]
            if untilAnswered, isComplete(answer) { return (String(decoding: answer, as: UTF8.self), false) }
        }
    }

    private static func isComplete(_ answer: [UInt8]) -> Bool {
        guard let text = String(bytes: answer, encoding: .utf8), let end = text.range(of: "\r\n\r\n"),
            let length = text[..<end.lowerBound].split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") })
                .flatMap({ Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) })
        else { return false }
        return text.utf8.count - text[..<end.upperBound].utf8.count >= length
    }

    private static func blockingExchange(port: Int, _ request: String, halfClose: Bool, timeout: Duration) throws -> String {
        let fd = try connected(port: port, timeout: timeout)
        defer { close(fd) }
        let bytes = Array(request.utf8)
        guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw RawHTTPError(message: "send failed") }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        return readAll(fd, untilAnswered: true).0
    }

    public struct RawHTTPError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}
