import Hummingbird

/// The request context of Rollcall's HTTP servers: Hummingbird's basic context with a small body limit.
public struct APIContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: Source) { coreContext = .init(source: source) }

    /// Heartbeat bodies are small; anything larger than this is refused with 413.
    public var maxUploadSize: Int { 64 * 1024 }
}
