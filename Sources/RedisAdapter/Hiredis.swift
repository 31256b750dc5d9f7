import CHiredis
import NIOCore

/// hiredis as a codec: it encodes commands (`redisFormatSdsCommandArgv`) and parses replies (`redisReader`);
/// NIO does the socket I/O (`RedisConnection`). The only code that imports `CHiredis`: every hiredis
/// failure becomes a `RedisError` naming the call, and no pointer leaves this file.
@_spi(Benchmarks)
public enum HiredisCodec {
    /// Appends one command (binary-safe arguments, explicit lengths) in Redis's wire format to `buffer`.
    ///
    /// Every script call is encoded here, so it allocates little: the arguments are copied into one
    /// scratch area (on the stack when small), and hiredis formats with its own `sdscatfmt`. Formatting
    /// with `redisFormatCommandArgv` (libc `sprintf` for every length) from heap copies took 2.6 x as
    /// long for a heartbeat's 32 arguments (docs/performance.md).
    @_spi(Benchmarks)
    public static func encode(_ arguments: [[UInt8]], into buffer: inout ByteBuffer) throws(RedisError) {
        var total = 0
        for argument in arguments { total += argument.count }
        let count = arguments.count
        let written = withUnsafeTemporaryAllocation(of: Int.self, capacity: count) { lengths in
            withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: count) { pointers in
                withUnsafeTemporaryAllocation(of: CChar.self, capacity: max(total, 1)) { storage in
                    var offset = 0
                    for (index, argument) in arguments.enumerated() {
                        let start = storage.baseAddress! + offset
                        argument.withUnsafeBufferPointer { source in
                            source.withMemoryRebound(to: CChar.self) { start.update(from: $0.baseAddress!, count: $0.count) }
                        }
                        lengths[index] = argument.count
                        pointers[index] = UnsafePointer(start)
                        offset += argument.count
                    }
                    var target: sds? = nil
                    let length = redisFormatSdsCommandArgv(&target, Int32(count), pointers.baseAddress, lengths.baseAddress)
                    guard length >= 0, let target else { return false }
                    defer { redisFreeSdsCommand(target) }
                    buffer.writeBytes(UnsafeRawBufferPointer(start: target, count: Int(length)))
                    return true
                }
            }
        }
        guard written else { throw .client(call: "redisFormatSdsCommandArgv", message: "out of memory") }
    }
}

/// An incremental reply parser: bytes go in as they arrive, whole replies come out in order.
///
/// Not thread-safe; one `RedisChannelHandler` owns it and uses it on its event loop only.
final class HiredisReplyReader {
    private let reader: UnsafeMutablePointer<redisReader>

    init() {
        guard let reader = redisReaderCreate() else { fatalError("redisReaderCreate: out of memory") }
        self.reader = reader
    }

    deinit { redisReaderFree(reader) }

    /// Hands the reader the bytes read from the socket.
    func feed(_ bytes: ByteBufferView) throws(RedisError) {
        let fed =
            bytes.withContiguousStorageIfAvailable { raw in
                raw.withMemoryRebound(to: CChar.self) { redisReaderFeed(reader, $0.baseAddress, $0.count) }
            }
            ?? Array(bytes).withUnsafeBufferPointer { raw in
                raw.withMemoryRebound(to: CChar.self) { redisReaderFeed(reader, $0.baseAddress, $0.count) }
            }
        guard fed == REDIS_OK else { throw .client(call: "redisReaderFeed", message: errorString()) }
    }

    /// The next whole reply, or nil until more bytes come. A protocol error is thrown (the connection's
    /// byte stream can no longer be trusted).
    func next() throws(RedisError) -> RedisValue? {
        var raw: UnsafeMutableRawPointer? = nil
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
            throw .client(call: "redisReaderGetReply", message: errorString())
        }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return Self.value(raw.assumingMemoryBound(to: redisReply.self))
    }

    private func errorString() -> String {
        withUnsafeBytes(of: reader.pointee.errstr) { buffer in
            String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func value(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        switch reply.pointee.type {
        case REDIS_REPLY_STRING:
            return .bulkString(bytes(reply))
        case REDIS_REPLY_STATUS:
            return .simpleString(text(reply))
        case REDIS_REPLY_INTEGER:
            return .integer(reply.pointee.integer)
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ERROR:
            return .error(text(reply))
        case REDIS_REPLY_ARRAY:
            let count = Int(reply.pointee.elements)
            return .array((0..<count).map { value(reply.pointee.element[$0]!) })
        default:
            return .error("unknown hiredis reply type \(reply.pointee.type)")
        }
    }

    private static func bytes(_ reply: UnsafeMutablePointer<redisReply>) -> [UInt8] {
        guard let start = reply.pointee.str else { return [] }
        return Array(UnsafeRawBufferPointer(start: start, count: Int(reply.pointee.len)))
    }

    private static func text(_ reply: UnsafeMutablePointer<redisReply>) -> String {
        String(decoding: bytes(reply), as: UTF8.self)
    }
}
