import CHiredis

#if canImport(Glibc)
    import Glibc
#else
    #error("Rollcall builds on Linux only: its C adapters use Glibc and Debian's libhiredis-dev")
#endif

/// One blocking hiredis connection. The only code that imports `CHiredis`: every hiredis failure
/// becomes a `RedisError` naming the call, and no pointer leaves this file.
///
/// Not thread-safe; `RedisPool` keeps each one behind a `Mutex` and uses it from one thread at a time.
final class HiredisConnection {
    private let context: UnsafeMutablePointer<redisContext>

    /// Connects, sets the command timeout, and authenticates and selects the database if asked.
    init(_ configuration: RedisConfiguration) throws(RedisError) {
        guard let context = redisConnectWithTimeout(configuration.host, Int32(configuration.port), timeval(configuration.connectTimeout))
        else {
            throw .connectFailed(address: configuration.address, call: "redisConnectWithTimeout", message: "out of memory")
        }
        if context.pointee.err != 0 {
            let message = Self.errorString(context)
            redisFree(context)
            throw .connectFailed(address: configuration.address, call: "redisConnectWithTimeout", message: message)
        }
        self.context = context
        guard redisSetTimeout(context, timeval(configuration.commandTimeout)) == REDIS_OK else {
            throw .connectFailed(address: configuration.address, call: "redisSetTimeout", message: Self.errorString(context))
        }
        do {
            if let password = configuration.password {
                let auth = configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]
                _ = try command(auth.map { Array($0.utf8) })
            }
            if configuration.database != 0 {
                _ = try command(["SELECT", String(configuration.database)].map { Array($0.utf8) })
            }
        } catch {
            throw .connectFailed(address: configuration.address, call: "redisCommandArgv", message: error.description)
        }
    }

    deinit { redisFree(context) }

    /// Whether the connection must not be used again: hiredis gave up on it (I/O error, EOF, timeout,
    /// protocol error), or the server closed it while it sat idle (Redis restarted, say). The second
    /// check is one non-blocking peek: without it, the first command on every pooled connection after a
    /// Redis restart would fail, and a call that is not idempotent cannot be sent again.
    var isBroken: Bool {
        if context.pointee.err != 0 { return true }
        var byte: UInt8 = 0
        let peeked = recv(context.pointee.fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if peeked == 0 { return true }  // the server closed the connection
        if peeked > 0 { return true }  // bytes nobody asked for: the protocol state is unknown
        let code = errno
        return code != EAGAIN && code != EWOULDBLOCK && code != EINTR
    }

    /// Sends one command (binary-safe arguments) and waits for its reply.
    func command(_ arguments: [[UInt8]]) throws(RedisError) -> RedisValue {
        let argv = arguments.map { argument -> UnsafeMutablePointer<CChar> in
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: max(argument.count, 1))
            argument.withUnsafeBufferPointer { source in
                source.withMemoryRebound(to: CChar.self) { copy.update(from: $0.baseAddress!, count: argument.count) }
            }
            return copy
        }
        defer { argv.forEach { $0.deallocate() } }
        var pointers = argv.map { UnsafePointer<CChar>?(UnsafePointer($0)) }
        let lengths = arguments.map(\.count)
        let raw = redisCommandArgv(context, Int32(arguments.count), &pointers, lengths)
        guard let raw else { throw connectionError(call: "redisCommandArgv") }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        if reply.pointee.type == REDIS_REPLY_ERROR { throw .reply(Self.text(reply)) }
        return Self.value(reply)
    }

    private func connectionError(call: String) -> RedisError {
        // errno first: building the message allocates, and anything that allocates may change errno,
        // which would turn a timeout (never retried) into a lost connection (retried).
        let code = errno
        let message = Self.errorString(context)
        switch context.pointee.err {
        case REDIS_ERR_EOF:
            return .connectionLost(call: call, message: message)
        case REDIS_ERR_IO where code == EAGAIN || code == EWOULDBLOCK:
            return .timeout(call: call, message: message)
        case REDIS_ERR_IO:
            return .connectionLost(call: call, message: message)
        default:
            return .client(call: call, message: message)
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

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { buffer in
            String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

private func timeval(_ duration: Duration) -> timeval {
    let (seconds, attoseconds) = duration.components
    return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
}
