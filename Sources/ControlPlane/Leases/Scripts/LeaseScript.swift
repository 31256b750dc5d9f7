import Coordination
import Foundation
import RedisAdapter

/// One Lua script of the lease store, with its contract in one place: the conforming type holds the
/// typed arguments (`arguments` builds ARGV), `script` the Lua (the shared prelude, then its body), and
/// `Reply` what it answers. A script answers one JSON object (`cjson.encode`), with epochs and times
/// as strings: cjson keeps only 14 significant digits of a number, and an epoch has 16. The heartbeat,
/// run once a second by every worker, answers a flat array instead and decodes it itself (`decode`).
protocol LeaseScript: Sendable {
    associatedtype Reply: Sendable
    /// The script, for errors and logs.
    static var name: String { get }
    /// Prelude and body, with whether a second run after a lost reply is harmless.
    static var script: RedisScript { get }
    /// ARGV, in the order the body reads it. KEYS is always `LeaseKeys.all`.
    var arguments: [String] { get }
    /// The reply of one run, or `malformedReply` naming the script and what came back.
    static func decode(_ value: RedisValue) throws(LeaseStoreError) -> Reply
}

extension LeaseScript {
    /// A script of the lease store: `LuaPrelude.source` followed by `body`.
    static func make(_ body: String, idempotent: Bool) -> RedisScript {
        RedisScript(LuaPrelude.source + "\n" + body, idempotent: idempotent)
    }
}

extension LeaseScript where Reply: Decodable {
    /// The reply of one run, a JSON object, or `malformedReply` naming the script and what came back.
    static func decode(_ value: RedisValue) throws(LeaseStoreError) -> Reply {
        guard let bytes = value.bytes else { throw .malformed(name, value) }
        do {
            return try JSONDecoder().decode(Reply.self, from: Data(bytes))
        } catch {
            throw .malformedReply(script: name, reply: String(decoding: bytes.prefix(200), as: UTF8.self))
        }
    }
}
