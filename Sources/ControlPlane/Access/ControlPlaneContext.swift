import Hummingbird
import NIOCore

/// The control plane's request context: Hummingbird's basic one with a small body limit, the peer's
/// address, and the caller `AccessMiddleware` admitted.
struct ControlPlaneContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Who sent the request; set by `AccessMiddleware` for every route but the health routes.
    var caller: Caller?
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// Heartbeat bodies are small; anything larger than this is refused with 413.
    var maxUploadSize: Int { 64 * 1024 }
}
