import Logging

/// Log lines to standard error at `level`; call once, first thing in `run()`.
public func bootstrapLogging(level: Logger.Level) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return LazyMetadataLogHandler(handler)
    }
}

/// StreamLogHandler's lines, with the logger's own metadata kept as it is and formatted only when a line
/// is written. StreamLogHandler formats all of its metadata whenever one key is set, and Hummingbird
/// sets one (`hb.request.id`) on every request: 3-4 % of the control plane's CPU per heartbeat, at a
/// level that writes nothing (docs/performance.md).
struct LazyMetadataLogHandler: LogHandler {
    private var base: StreamLogHandler
    var metadata = Logger.Metadata()

    init(_ base: StreamLogHandler) { self.base = base }

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The line StreamLogHandler writes with this metadata, a statement's own values winning.
    func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty { event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit } }
        base.log(event: event)
    }
}
