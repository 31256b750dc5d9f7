import Hummingbird

/// The request context: Hummingbird's basic context with Rollcall's body limit.
struct ControlPlaneContext: RequestContext {
    var coreContext: CoreRequestContextStorage

    init(source: Source) { coreContext = .init(source: source) }

    /// Heartbeat bodies are small; anything larger than this is refused with 413.
    var maxUploadSize: Int { 64 * 1024 }
}
