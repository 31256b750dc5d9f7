import Logging
import Synchronization
import Testing

@testable import ServerSupport

struct LogHandlerTests {
    /// Collects what a StreamLogHandler writes.
    final class Lines: TextOutputStream, Sendable {
        let text = Mutex("")
        func write(_ string: String) { text.withLock { $0 += string } }
    }

    /// The line without its timestamp (everything before the level).
    private static func untimed(_ lines: Lines) -> String {
        let text = lines.text.withLock { $0 }
        return String(text[text.range(of: " warning ")!.lowerBound...])
    }

    @Test("the lazy handler writes StreamLogHandler's line: the logger's metadata sorted, a statement's own values winning")
    func sameLines() throws {
        let (stream, lazyStream) = (Lines(), Lines())
        var stock = Logger(label: "rollcall") { StreamLogHandler(label: $0, stream: stream, metadataProvider: nil) }
        var lazy = Logger(label: "rollcall") {
            LazyMetadataLogHandler(StreamLogHandler(label: $0, stream: lazyStream, metadataProvider: nil))
        }
        stock[metadataKey: "pool"] = "default"
        lazy[metadataKey: "pool"] = "default"
        stock[metadataKey: "hb.request.id"] = "7"
        lazy[metadataKey: "hb.request.id"] = "7"
        stock.logLevel = .warning
        lazy.logLevel = .warning
        stock.info("not written")
        lazy.info("not written")
        #expect(stream.text.withLock { $0 }.isEmpty && lazyStream.text.withLock { $0 }.isEmpty)
        stock.warning("released", metadata: ["pool": "tags", "name": "w-1"])
        lazy.warning("released", metadata: ["pool": "tags", "name": "w-1"])
        #expect(Self.untimed(lazyStream) == Self.untimed(stream))
        #expect(Self.untimed(lazyStream).contains("hb.request.id=7 name=w-1 pool=tags [ControlPlaneTests] released"))
        #expect(lazy[metadataKey: "pool"] == "default", "the logger's own value stays")
    }

    @Test("without metadata the line has none, as StreamLogHandler's")
    func noMetadata() {
        let (stream, lazyStream) = (Lines(), Lines())
        let stock = Logger(label: "x") { StreamLogHandler(label: $0, stream: stream, metadataProvider: nil) }
        let lazy = Logger(label: "x") { LazyMetadataLogHandler(StreamLogHandler(label: $0, stream: lazyStream, metadataProvider: nil)) }
        stock.warning("plain")
        lazy.warning("plain")
        #expect(Self.untimed(lazyStream) == Self.untimed(stream))
        #expect(Self.untimed(lazyStream) == " warning x: [ControlPlaneTests] plain\n")
    }
}
