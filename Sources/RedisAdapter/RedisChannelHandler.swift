import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The replies of one pipeline, one per command, each its reply or the error that stood in for it.
typealias RedisReplies = [Result<RedisValue, RedisError>]

/// The NIO side of one `RedisConnection`, on its event loop only: writes each request, feeds the bytes
/// read to hiredis's reader, hands each reply to the request waiting for it, and fails what is left
/// when the connection breaks or a reply is later than the command timeout.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A request waiting for its replies.
    private struct Pending {
        let promise: EventLoopPromise<RedisReplies>
        /// When its replies are late.
        let deadline: NIODeadline
        /// Its first command's name and how many commands it has, for the timeout's message.
        let command: [UInt8]
        let count: Int
    }

    private var queue: RedisReplyQueue<Pending>
    private let reader = HiredisReplyReader()
    private let status: RedisConnectionStatus
    private let commandTimeout: TimeAmount
    private let pushes: AsyncStream<RedisValue>.Continuation?
    /// Whether a timer will look at the oldest request's deadline: one per connection, re-armed from the
    /// oldest deadline when it fires, so a request costs no timer of its own.
    private var watchdogArmed = false
    private var context: ChannelHandlerContext?
    /// Why the connection may not be used any more; set once.
    private var broken: RedisError?

    init(address: String, status: RedisConnectionStatus, commandTimeout: TimeAmount, pushes: AsyncStream<RedisValue>.Continuation?) {
        self.queue = RedisReplyQueue(address: address)
        self.status = status
        self.commandTimeout = commandTimeout
        self.pushes = pushes
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        breakConnection(.connectionLost(call: "read", message: "the connection was closed"), close: false)
        self.context = nil
    }

    /// Writes `bytes` (`count` encoded commands, the first named `command`) and answers `promise` with
    /// their replies. On a connection already broken nothing is written, and every command fails with
    /// `RedisConnection.unsent`.
    func send(_ bytes: ByteBuffer, count: Int, command: [UInt8], promise: EventLoopPromise<RedisReplies>) {
        if broken == nil, queue.isEmpty, let context, Self.peerHasClosed(context.channel) {
            breakConnection(.connectionLost(call: "write", message: "the server had closed the connection"), close: true)
        }
        guard let context, broken == nil else {
            promise.succeed(Array(repeating: .failure(RedisConnection.unsent), count: count))
            return
        }
        let deadline = NIODeadline.now() + commandTimeout
        queue.enqueue(count: count, waiter: Pending(promise: promise, deadline: deadline, command: command, count: count))
        armWatchdog(at: deadline)
        context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }

    /// Whether the server's end of the connection is closed although this event loop has not read its
    /// end of stream yet. The kernel knows as soon as the FIN arrives (the socket leaves ESTABLISHED); the
    /// event loop only when it next reads, which may be after this write: a command written then would
    /// be lost with the connection and, not being known unsent, could not be sent again. Asked before
    /// writing to an idle connection only: with requests in flight their replies will tell.
    private static func peerHasClosed(_ channel: Channel) -> Bool {
        #if os(Linux)
            guard let provider = channel as? SocketOptionProvider else { return false }
            // On the channel's own event loop the option is read at once and the future is complete
            // when returned, so the callback runs before `whenSuccess` returns.
            var closed = false
            provider.getTCPInfo().assumeIsolated().whenSuccess { closed = $0.tcpi_state != UInt8(TCP_ESTABLISHED) }
            return closed
        #else
            return false
        #endif
    }

    /// Fails everything when the oldest request is past its deadline: a late reply would be matched to
    /// the wrong request, so the connection is given up.
    private func armWatchdog(at deadline: NIODeadline) {
        guard !watchdogArmed, let context else { return }
        watchdogArmed = true
        context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            watchdogArmed = false
            guard broken == nil, let oldest = queue.oldest else { return }
            guard oldest.deadline <= .now() else { return armWatchdog(at: oldest.deadline) }
            let name = String(decoding: oldest.command, as: UTF8.self)
            let call = oldest.count == 1 ? name : "pipeline of \(oldest.count) (\(name), ...)"
            breakConnection(.timeout(call: call, message: "no reply within \(commandTimeout.nanoseconds / 1_000_000) ms"), close: true)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        do throws(RedisError) {
            try reader.feed(bytes.readableBytesView)
            while let value = try reader.next() {
                switch queue.receive(value) {
                case .completed(let pending, let replies):
                    pending.promise.succeed(replies)
                case .waiting:
                    break
                case .unsolicited(let value):
                    if let pushes {
                        pushes.yield(value)
                    } else {
                        breakConnection(.client(call: "read", message: "a reply nobody asked for: \(value)"), close: true)
                        return
                    }
                }
            }
            if queue.sawNotPrimary { status.markNotPrimary() }
        } catch {
            breakConnection(error, close: true)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        breakConnection(.connectionLost(call: "read", message: "the server closed the connection"), close: false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        breakConnection(.connectionLost(call: "read", message: "\(error)"), close: true)
    }

    /// Fails every request still waiting with `error`, refuses all later ones, and closes the channel.
    private func breakConnection(_ error: RedisError, close: Bool) {
        if broken == nil {
            broken = error
            status.markBroken()
        }
        for (pending, replies) in queue.failAll(error) { pending.promise.succeed(replies) }
        pushes?.finish()
        if close { context?.close(promise: nil) }
    }
}
