import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP proxy in front of a Redis server that misbehaves on purpose, for tests of what a client does
/// when a reply never comes: blocking sockets, a thread per connection, loopback only.
///
/// Each read from the client is taken as one request (true for one command at a time on loopback).
public final class FaultyRedisProxy: Sendable {
    public enum Fault: Sendable {
        /// Forwards every request; when one contains `marker`, lets Redis run it, then closes the
        /// client's connection instead of passing the reply on: the call ran, the caller cannot know.
        case dropReplyTo(marker: String)
        /// Reads requests and never answers them.
        case silence
    }

    public let port: Int
    private let listener: Int32
    private let upstreamPort: Int
    private let fault: Fault
    private let received = Mutex<[String]>([])
    private let connections = Mutex<[Int32]>([])
    private let stopped = Atomic<Bool>(false)

    public init(upstreamPort: Int, fault: Fault) throws {
        self.upstreamPort = upstreamPort
        self.fault = fault
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 && listen(listener, 16) == 0
            }
        }
        guard bound else {
            close(listener)
            throw RedisServerProcess.ServerError(message: "the proxy could not listen")
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    public var url: String { "redis://127.0.0.1:\(port)" }

    /// How many requests containing `marker` reached the proxy.
    public func requests(containing marker: String) -> Int { received.withLock { $0.filter { $0.contains(marker) }.count } }

    /// Stops accepting and shuts every open connection down. Only descriptors still open are touched:
    /// a closed one's number may already belong to another socket of this process. The listener is
    /// shut down here (which wakes the accept) but closed by the accept loop as it ends: closed here, its
    /// number could be handed to another proxy's listener before the loop's next accept, and that accept
    /// would take the other proxy's connection and serve it with this proxy's fault.
    public func stop() {
        stopped.store(true, ordering: .sequentiallyConsistent)
        shutdown(listener, Int32(SHUT_RDWR))
        connections.withLock { open in
            for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Accepts until stopped. A failed accept that is not the stop (a signal to this thread, a client
    /// that gave up in the backlog) is tried again: ending the loop there left later connections
    /// unanswered in the backlog, so a test's second connection waited out its timeout.
    private func acceptLoop() {
        defer { close(listener) }
        while !stopped.load(ordering: .sequentiallyConsistent) {
            let client = accept(listener, nil, nil)
            if client < 0 {
                let code = errno
                if stopped.load(ordering: .sequentiallyConsistent) { return }
                if code == EINTR || code == ECONNABORTED || code == EAGAIN { continue }
                return
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            connections.withLock { $0.append(client) }
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    /// Every socket is close-on-exec and the client's is shut down before it is closed, so the end of
    /// stream reaches the client whatever else holds the descriptor.
    private func serve(_ client: Int32) {
        defer {
            connections.withLock { open in
                open.removeAll { $0 == client }
                shutdown(client, Int32(SHUT_RDWR))
                close(client)
            }
        }
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(upstream) }
        var address = Self.loopback(port: upstreamPort)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { return }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = Self.retrying { read(client, &buffer, buffer.count) }
            guard count > 0 else { return }
            let request = Array(buffer[0..<count])
            let text = String(decoding: request, as: UTF8.self)
            received.withLock { $0.append(text) }
            switch fault {
            case .silence:
                continue
            case .dropReplyTo(let marker):
                guard send(upstream, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return }
                let replied = Self.retrying { read(upstream, &buffer, buffer.count) }
                guard replied > 0, !text.contains(marker) else { return }
                guard send(client, buffer, replied, Int32(MSG_NOSIGNAL)) == replied else { return }
            }
        }
    }

    /// A system call again while a signal interrupted it.
    private static func retrying(_ call: () -> Int) -> Int {
        while true {
            let result = call()
            if result < 0 && errno == EINTR { continue }
            return result
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return address
    }
}
