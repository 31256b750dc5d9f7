import NIOCore
import NIOPosix
import Synchronization

/// What the event loop has learned about a connection, readable from any thread.
final class RedisConnectionStatus: Sendable {
    private let broken = Atomic<Bool>(false)
    private let notPrimary = Atomic<Bool>(false)

    func markBroken() { broken.store(true, ordering: .relaxed) }
    func markNotPrimary() { notPrimary.store(true, ordering: .relaxed) }
    /// The connection broke, timed out, or its node said it is no primary.
    var hasFailed: Bool { broken.load(ordering: .relaxed) || notPrimary.load(ordering: .relaxed) }
}

/// One Redis connection driven by NIO: commands are written and replies read on an event loop, and no
/// thread waits for Redis. Requests may be pipelined by several callers at once; Redis answers them in
/// order. Encoding and parsing are hiredis's (`HiredisCodec`, `HiredisReplyReader`).
final class RedisConnection: Sendable {
    /// `host:port` of the node, for messages.
    let address: String
    /// The locator's primary term when this connection was made: once a failover moves the term on,
    /// the connection is dropped before its next use.
    var primaryTerm: Int {
        get { term.load(ordering: .relaxed) }
        set { term.store(newValue, ordering: .relaxed) }
    }
    private let term = Atomic<Int>(0)
    private let channel: Channel
    private let handler: NIOLoopBound<RedisChannelHandler>
    private let status: RedisConnectionStatus
    /// Messages no command asked for (pub/sub), when the connection was made to subscribe.
    let pushes: AsyncStream<RedisValue>?

    /// The error of a command refused by a connection already broken: nothing was written, so it is
    /// always safe to send again on a fresh connection.
    static let unsent = RedisError.connectionLost(call: "write", message: "the connection was broken before the command was sent")

    /// Connects (within the connect timeout), authenticates and selects the database if asked. With
    /// `subscriber`, pushed messages are kept in `pushes` instead of breaking the connection.
    static func connect(
        _ configuration: RedisConfiguration, subscriber: Bool = false,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(RedisError) -> RedisConnection {
        let address = configuration.address
        let status = RedisConnectionStatus()
        let (stream, continuation) = AsyncStream.makeStream(of: RedisValue.self, bufferingPolicy: .bufferingNewest(1024))
        let pushes = subscriber ? continuation : nil
        let timeout = TimeAmount(configuration.commandTimeout)
        let channel: Channel
        let handler: NIOLoopBound<RedisChannelHandler>
        do {
            channel = try await ClientBootstrap(group: group)
                // TCP_NODELAY is ClientBootstrap's default. (`.socketOption(.tcp_nodelay)` would set
                // SOL_SOCKET option 1, SO_DEBUG, which only root may: the image test, as uid 10001, caught it.)
                .connectTimeout(TimeAmount(configuration.connectTimeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = RedisChannelHandler(address: address, status: status, commandTimeout: timeout, pushes: pushes)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: configuration.host, port: configuration.port).get()
            handler = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self), eventLoop: channel.eventLoop)
            }.get()
        } catch {
            throw .connectFailed(address: address, call: "connect", message: "\(error)")
        }
        let connection = RedisConnection(
            address: address, channel: channel, handler: handler, status: status, pushes: subscriber ? stream : nil)
        do {
            if let password = configuration.password {
                let auth = configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]
                _ = try await connection.command(auth.map { Array($0.utf8) })
            }
            if configuration.database != 0 {
                _ = try await connection.command(["SELECT", String(configuration.database)].map { Array($0.utf8) })
            }
        } catch {
            connection.close()
            throw .connectFailed(address: address, call: "AUTH/SELECT", message: error.description)
        }
        return connection
    }

    private init(
        address: String, channel: Channel, handler: NIOLoopBound<RedisChannelHandler>, status: RedisConnectionStatus,
        pushes: AsyncStream<RedisValue>?
    ) {
        self.address = address
        self.channel = channel
        self.handler = handler
        self.status = status
        self.pushes = pushes
    }

    deinit { channel.close(promise: nil) }

    /// Whether the connection must not be used again: it broke (the server closed it, even while it sat
    /// idle, which the event loop notices at once), a reply was late, or its node said it is no primary.
    var hasFailed: Bool { status.hasFailed || !channel.isActive }

    func close() { channel.close(promise: nil) }

    /// A socket option of the connection's socket, as the kernel has it (for tests of what connect sets).
    func socketOption(level: Int32, name: Int32) async throws -> Int {
        try await channel.getOption(
            ChannelOptions.Types.SocketOption(level: NIOBSDSocket.OptionLevel(rawValue: level), name: NIOBSDSocket.Option(rawValue: name))
        ).get()
    }

    /// Sends one command (binary-safe arguments) and waits for its reply; an error reply is thrown.
    func command(_ arguments: [[UInt8]]) async throws(RedisError) -> RedisValue {
        try await pipeline([arguments])[0].get()
    }

    /// Sends every command in one write and returns their replies in order: one round trip for all.
    /// An error reply fails its own command only; a broken connection fails the command whose reply
    /// it cut off and every one after it (each may or may not have run), a late reply fails them with
    /// `timeout`.
    func pipeline(_ commands: [[[UInt8]]]) async -> RedisReplies {
        var buffer = channel.allocator.buffer(capacity: commands.reduce(16) { $0 + $1.reduce(16) { $0 + $1.count + 16 } })
        for arguments in commands {
            do throws(RedisError) {
                try HiredisCodec.encode(arguments, into: &buffer)
            } catch {
                return commands.map { _ in .failure(error) }
            }
        }
        let promise = channel.eventLoop.makePromise(of: RedisReplies.self)
        let (handler, count, bytes, command) = (self.handler, commands.count, buffer, commands.first?.first ?? [])
        if channel.eventLoop.inEventLoop {
            handler.value.send(bytes, count: count, command: command, promise: promise)
        } else {
            channel.eventLoop.execute { handler.value.send(bytes, count: count, command: command, promise: promise) }
        }
        // Only ever succeeded: each command's failure is in its own result.
        return (try? await promise.futureResult.get()) ?? commands.map { _ in .failure(Self.unsent) }
    }

    /// Asks the node its replication role (`ROLE`); throws `notPrimary` unless it is a primary.
    /// Returns how many replicas its ROLE lists as connected.
    @discardableResult
    func requirePrimary() async throws(RedisError) -> Int {
        let role = try await command([Array("ROLE".utf8)])
        guard let fields = role.array, fields.first?.string == "master", fields.count >= 3 else {
            status.markNotPrimary()
            throw .notPrimary(address: address, message: "ROLE answered \(role.array?.first?.string ?? "\(role)"), not master")
        }
        return fields[2].array?.count ?? 0
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

extension Duration {
    /// Whole milliseconds, rounded down (WAIT takes milliseconds).
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
