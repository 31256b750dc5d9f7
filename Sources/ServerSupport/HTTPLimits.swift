import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// What one connection may cost a server: a slow or silent client is closed, and the number of open
/// connections is bounded, so a few hundred idle or slow-header connections cannot exhaust a replica.
public struct HTTPLimits: Sendable, Equatable {
    /// From accepting a connection, or from the end of the previous response, until a complete request
    /// head: past it the connection is closed (slow headers; idle keep-alive connections).
    public var headerTimeout: Duration = .seconds(10)
    /// No byte read for this long while a request is read (a stalled body) closes the connection.
    public var idleTimeout: Duration = .seconds(30)
    /// Connections beyond this wait in the kernel's accept queue until one closes.
    public var maxConnections = 4096
    /// TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE: HTTPS only, when set.
    public var tls: TLSFiles?
    /// How often the TLS files are looked at for a renewed certificate.
    public var tlsReloadInterval: Duration = .seconds(10)

    public init() {}

    /// The server's HTTP/1 channel with these limits, behind `tls` when given; HTTP/1.0 requests without
    /// keep-alive are closed after their answer.
    public func server(tls: ServerTLS?) -> HTTPServerBuilder {
        let limits = self
        return HTTPServerBuilder { responder in
            let channel = LimitedHTTP1Channel(limits: limits, responder: responder)
            guard let tls else { return channel }
            return ReloadingTLSChannel(base: channel, tls: tls)
        }
    }

    /// The TLS context for `tls`, and the service that reloads it, or nil without TLS.
    public func makeTLS(logger: Logger) throws -> (ServerTLS, TLSReloader)? {
        guard let tls else { return nil }
        let server = try ServerTLS(files: tls)
        return (server, TLSReloader(tls: server, interval: tlsReloadInterval, logger: logger))
    }

    /// The application configuration for `address`, with the connection limit.
    public func configuration(address: BindAddress, serverName: String) -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: address, serverName: serverName, availableConnectionsDelegate: MaximumAvailableConnections(maxConnections))
    }
}

/// Hummingbird's HTTP/1 channel plus the limits: a header deadline after the HTTP parser, and an
/// HTTP/1.0 `Connection: close` before the conversion to HTTP types (which drops the version).
struct LimitedHTTP1Channel: ServerChildChannel {
    let inner: HTTP1Channel
    let limits: HTTPLimits

    init(limits: HTTPLimits, responder: @escaping HTTPChannelHandler.Responder) {
        self.limits = limits
        let headerTimeout = TimeAmount.nanoseconds(limits.headerTimeout.nanoseconds)
        inner = HTTP1Channel(
            responder: responder,
            configuration: .init(
                additionalChannelHandlers: [HeaderDeadlineHandler(timeout: headerTimeout)],
                idleTimeout: .nanoseconds(limits.idleTimeout.nanoseconds)))
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let codec = try channel.pipeline.syncOperations.handler(type: HTTP1ToHTTPServerCodec.self)
            try channel.pipeline.syncOperations.addHandler(HTTP10CloseHandler(), position: .before(codec))
            return value
        }
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async { await inner.handle(value: value, logger: logger) }
}

/// Closes a connection whose next request head does not arrive within `timeout` of the connection
/// opening or of the previous response's end. One timer per connection, not one per request: arming
/// and disarming only set the deadline, and the timer, when it fires early, waits on for the deadline
/// set since (scheduling and cancelling a task for every request cost 1.4 % of a heartbeat's CPU).
final class HeaderDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    /// When the connection is closed unless a request head came; nil while a request is under way.
    private var deadline: NIODeadline?
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) { arm(context) }

    func handlerRemoved(context: ChannelHandlerContext) { stop() }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { deadline = nil }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context) }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        let deadline = NIODeadline.now() + timeout
        self.deadline = deadline
        if timer == nil { schedule(context, at: deadline) }
    }

    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) { bound.value.0.fired(bound.value.1) }
    }

    /// The timer fired: closes the connection if its deadline has passed, waits on for a later one, and
    /// ends while a request is under way (the next response's end arms it again).
    private func fired(_ context: ChannelHandlerContext) {
        timer = nil
        guard let deadline else { return }
        if deadline <= .now() {
            context.close(promise: nil)
        } else {
            schedule(context, at: deadline)
        }
    }

    private func stop() {
        timer?.cancel()
        timer = nil
        deadline = nil
    }
}

/// Marks an HTTP/1.0 request without keep-alive `Connection: close`, so the server closes the
/// connection after answering it, as HTTP/1.0 expects.
final class HTTP10CloseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data), head.version == .http1_0, !head.isKeepAlive else {
            context.fireChannelRead(data)
            return
        }
        head.headers.replaceOrAdd(name: "connection", value: "close")
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }
}
