import Coordination
import Foundation
import RedisAdapter

/// One Lua script of the lease store, with its contract in one place: the conforming type holds the
/// typed arguments (`arguments` builds ARGV), `script` the Lua (the shared prelude, then its body), and
/// `Reply` what it answers. Every script answers one JSON object (`cjson.encode`), with epochs and
/// times as strings: cjson keeps only 14 significant digits of a number, and an epoch has 16.
protocol LeaseScript: Sendable {
    associatedtype Reply: Decodable & Sendable
    /// The script, for errors and logs.
    static var name: String { get }
    /// Prelude and body, with whether a second run after a lost reply is harmless.
    static var script: RedisScript { get }
    /// ARGV, in the order the body reads it. KEYS is always `LeaseKeys.all`.
    var arguments: [String] { get }
}

extension LeaseScript {
    /// The reply of one run, or `malformedReply` naming the script and what came back.
    static func decode(_ value: RedisValue) throws(LeaseStoreError) -> Reply {
        guard let bytes = value.bytes else { throw .malformedReply(script: name, reply: "\(value)") }
        do {
            return try JSONDecoder().decode(Reply.self, from: Data(bytes))
        } catch {
            throw .malformedReply(script: name, reply: String(decoding: bytes.prefix(200), as: UTF8.self))
        }
    }

    /// A script of the lease store: `LuaPrelude.source` followed by `body`.
    static func make(_ body: String, idempotent: Bool) -> RedisScript {
        RedisScript(LuaPrelude.source + "\n" + body, idempotent: idempotent)
    }
}

/// Comma-separated lists inside script replies.
enum ReplyList {
    /// `"3,17,600"` as partitions; "" is none.
    static func partitions(_ text: String) throws -> [Int] {
        try text.split(separator: ",").map { item in
            guard let partition = Int(item), partition >= 0 else { throw ReplyListError(text: text) }
            return partition
        }
    }

    /// `"3:1732270000123456,17:…"` as grants; "" is none.
    static func grants(_ text: String) throws -> [PartitionGrant] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: ":")
            guard parts.count == 2, let partition = Int(parts[0]), partition >= 0, let epoch = Int64(parts[1]), epoch >= 0 else {
                throw ReplyListError(text: text)
            }
            return PartitionGrant(partition: partition, epoch: Epoch(rawValue: epoch))
        }
    }

    struct ReplyListError: Error { let text: String }
}

/// Why a lease-store call failed: Redis did, or a script answered something outside its contract.
enum LeaseStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    case redis(RedisError)
    case malformedReply(script: String, reply: String)

    var description: String {
        switch self {
        case .redis(let error): "\(error)"
        case .malformedReply(let script, let reply): "the \(script) script answered outside its contract: \(reply)"
        }
    }
}
