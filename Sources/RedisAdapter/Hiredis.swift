import CHiredis
import NIOCore

/// hiredis as a codec: it encodes commands (`redisFormatCommandArgv`) and parses replies (`redisReader`);
/// NIO does the socket I/O (`RedisConnection`). The only code that imports `CHiredis`: every hiredis
/// failure becomes a `RedisError` naming the call, and no pointer leaves this file.
enum HiredisCodec {
    /// Appends one command (binary-safe arguments, explicit lengths) in Redis's wire format to `buffer`.
    static func encode(_ arguments: [[UInt8]], into buffer: inout ByteBuffer) throws(RedisError) {
        let lengths = arguments.map(\.count)
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: max(lengths.reduce(0, +), 1))
        defer { storage.deallocate() }
        var pointers: [UnsafePointer<CChar>?] = []
        pointers.reserveCapacity(arguments.count)
        var offset = 0
        for argument in arguments {
            argument.withUnsafeBufferPointer { source in
                source.withMemoryRebound(to: CChar.self) { (storage + offset).update(from: $0.baseAddress!, count: argument.count) }
            }
            pointers.append(UnsafePointer(storage + offset))
            offset += argument.count
        }
        var target: UnsafeMutablePointer<CChar>? = nil
        let length = pointers.withUnsafeMutableBufferPointer { argv in
            redisFormatCommandArgv(&target, Int32(arguments.count), argv.baseAddress, lengths)
        }
        guard length >= 0, let target else { throw .client(call: "redisFormatCommandArgv", message: "out of memory") }
        defer { redisFreeCommand(target) }
        buffer.writeBytes(UnsafeRawBufferPointer(start: target, count: Int(length)))
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
