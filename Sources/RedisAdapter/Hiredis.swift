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
    /// `host:port` of the node, for messages.
    let address: String
    /// The locator's primary term when this connection was made: once a failover moves the term on,
    /// the connection is dropped before its next use.
    var primaryTerm = 0
    /// Set when the node answered READONLY or LOADING: it is not a primary to use any more.
    private var notPrimary = false

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
        self.address = configuration.address
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

    /// Whether hiredis gave up on the connection or the node said it is no primary: the cheap part of
    /// `isBroken`, with no system call.
    var hasFailed: Bool { context.pointee.err != 0 || notPrimary }

    /// Whether the connection must not be used again: hiredis gave up on it (I/O error, EOF, timeout,
    /// protocol error), or the server closed it while it sat idle (Redis restarted, say). The second
    /// check is one non-blocking peek: without it, the first command on every pooled connection after a
    /// Redis restart would fail, and a call that is not idempotent cannot be sent again.
    var isBroken: Bool {
        if hasFailed { return true }
        var byte: UInt8 = 0
        let peeked = recv(context.pointee.fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if peeked == 0 { return true }  // the server closed the connection
        if peeked > 0 { return true }  // bytes nobody asked for: the protocol state is unknown
        let code = errno
        return code != EAGAIN && code != EWOULDBLOCK && code != EINTR
    }

    /// Sends one command (binary-safe arguments) and waits for its reply.
    func command(_ arguments: [[UInt8]]) throws(RedisError) -> RedisValue {
        let raw = withArgv(arguments) { count, pointers, lengths in redisCommandArgv(context, count, pointers, lengths) }
        guard let raw else { throw connectionError(call: "redisCommandArgv") }
        return try reply(raw)
    }

    /// Sends every command in one write and reads their replies in order: one round trip for all.
    /// An error reply fails its own command only; a broken connection fails the command whose reply
    /// it cut off and every one after it (each may or may not have run, as for `command`).
    func pipeline(_ commands: [[[UInt8]]]) -> [Result<RedisValue, RedisError>] {
        for arguments in commands {
            let appended = withArgv(arguments) { count, pointers, lengths in redisAppendCommandArgv(context, count, pointers, lengths) }
            guard appended == REDIS_OK else {
                // Out of memory in hiredis's buffer; nothing was sent, and the context is marked broken.
                let error = connectionError(call: "redisAppendCommandArgv")
                return commands.map { _ in .failure(error) }
            }
        }
        var results: [Result<RedisValue, RedisError>] = []
        results.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer? = nil
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                let error = connectionError(call: "redisGetReply")
                while results.count < commands.count { results.append(.failure(error)) }
                break
            }
            results.append(Result { () throws(RedisError) in try reply(raw) })
        }
        return results
    }

    /// The value of a reply hiredis handed over (and frees here); an error reply is thrown.
    private func reply(_ raw: UnsafeMutableRawPointer) throws(RedisError) -> RedisValue {
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        if reply.pointee.type == REDIS_REPLY_ERROR {
            let message = Self.text(reply)
            // A replica (after a failover demoted this node) or a node still loading its data: nothing ran.
            if message.hasPrefix("READONLY") || message.hasPrefix("LOADING") || message.hasPrefix("MASTERDOWN") {
                notPrimary = true
                throw .notPrimary(address: address, message: message)
            }
            throw .reply(message)
        }
        return Self.value(reply)
    }

    /// Asks the node its replication role (`ROLE`); throws `notPrimary` unless it is a primary.
    /// Returns how many replicas its ROLE lists as connected.
    @discardableResult
    func requirePrimary() throws(RedisError) -> Int {
        let role = try command([Array("ROLE".utf8)])
        guard let fields = role.array, fields.first?.string == "master", fields.count >= 3 else {
            notPrimary = true
            throw .notPrimary(address: address, message: "ROLE answered \(role.array?.first?.string ?? "\(role)"), not master")
        }
        return fields[2].array?.count ?? 0
    }

    /// Sends a command without waiting for its reply (SUBSCRIBE); replies come from `nextMessage`.
    func send(_ arguments: [[UInt8]]) throws(RedisError) {
        try withArgv(arguments) { count, pointers, lengths throws(RedisError) in
            guard redisAppendCommandArgv(context, count, pointers, lengths) == REDIS_OK else {
                throw connectionError(call: "redisAppendCommandArgv")
            }
        }
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else { throw connectionError(call: "redisBufferWrite") }
        }
    }

    /// The next pushed reply (a pub/sub message), or nil when none came within `timeout`. Waits with
    /// poll(2), so the read itself never hits the socket timeout (which would break the connection).
    func nextMessage(timeout: Duration) throws(RedisError) -> RedisValue? {
        var pending: UnsafeMutableRawPointer? = nil
        guard redisGetReplyFromReader(context, &pending) == REDIS_OK else { throw connectionError(call: "redisGetReplyFromReader") }
        if pending == nil {
            var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(timeout.wholeMilliseconds))
            if ready == 0 || (ready < 0 && errno == EINTR) { return nil }
            guard ready > 0 else { throw .connectionLost(call: "poll", message: "poll failed: errno \(errno)") }
            guard redisBufferRead(context) == REDIS_OK else { throw connectionError(call: "redisBufferRead") }
            guard redisGetReplyFromReader(context, &pending) == REDIS_OK else { throw connectionError(call: "redisGetReplyFromReader") }
        }
        guard let pending else { return nil }
        defer { freeReplyObject(pending) }
        return Self.value(pending.assumingMemoryBound(to: redisReply.self))
    }

    /// Calls `body` with hiredis's argv form of `arguments`: pointers into one C copy of them all
    /// (binary-safe, with explicit lengths), one allocation however many arguments there are.
    private func withArgv<T, E: Error>(
        _ arguments: [[UInt8]], _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, [Int]) throws(E) -> T
    ) throws(E) -> T {
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
        return try pointers.withUnsafeMutableBufferPointer { buffer throws(E) in
            try body(Int32(arguments.count), buffer.baseAddress!, lengths)
        }
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

extension Duration {
    /// Whole milliseconds, rounded down (poll(2) and WAIT take milliseconds).
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
