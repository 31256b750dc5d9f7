import Coordination
import RedisAdapter

/// One Lua script of the lease store. Its Lua lives in `lua/NAME.lua`, whose header lists KEYS, ARGV,
/// REPLY, what it changes and whether it is idempotent; the conforming type declares the same
/// contract once in Swift: `Argument` names ARGV in order (the Lua reads them as `A.name`, a table
/// generated from this declaration), `Field` names the reply's fields, and `reply(_:)` decodes them by
/// name. `LeaseScriptContractTests` checks every header against these declarations.
///
/// Every script answers a flat array of field/value pairs, as HGETALL does: decoded by name, with no
/// JSON on the hot path (decoding JSON was a tenth of the control plane's time per heartbeat) and no
/// rounding (cjson keeps 14 significant digits; an epoch has 16, so epochs travel as strings).
protocol LeaseScript: Sendable {
    /// The keys the script receives: a pool's (`LeaseKey`) or the installation's (`ControlKey`).
    associatedtype Key: ScriptName = LeaseKey
    associatedtype Argument: ScriptName
    associatedtype Field: ScriptName
    associatedtype Reply: Sendable
    /// The script's file name, for errors and logs.
    static var name: String { get }
    /// Preamble and Lua, with whether a second run after a lost reply is harmless.
    static var script: RedisScript { get }
    /// The value of one named argument.
    func argument(_ argument: Argument) -> String
    /// ARGV after the named arguments (the Lua reads them from `ARGV[ARGC + 1]` on).
    var trailingArguments: [String] { get }
    /// The reply from its fields, or nil when it breaks the contract.
    static func reply(_ fields: ScriptReply<Field>) -> Reply?
}

/// The names of a script's arguments or reply fields, in declaration order.
protocol ScriptName: RawRepresentable<String>, CaseIterable, Hashable, Sendable {}

/// The argument list of a script that takes none: `allCases` is empty, so ARGV is.
enum NoArgument: String, ScriptName {
    case none
    static var allCases: [NoArgument] { [] }
}

extension LeaseScript {
    var trailingArguments: [String] { [] }

    /// ARGV: the named arguments in declaration order, then the trailing ones.
    var arguments: [String] { Argument.allCases.map(argument) + trailingArguments }

    /// A lease-store script from its Lua (`LuaSource`, embedded at build time) behind the generated preamble.
    static func load(_ lua: String, idempotent: Bool) -> RedisScript {
        RedisScript(LuaPreamble.make(keys: Key.self, arguments: Argument.allCases.map(\.rawValue), lua: lua), idempotent: idempotent)
    }

    /// The reply of one run, or `malformedReply` naming the script and what came back.
    static func decode(_ value: RedisValue) throws(LeaseStoreError) -> Reply {
        guard let fields = ScriptReply<Field>(value), let reply = reply(fields) else { throw .malformed(name, value) }
        return reply
    }
}

extension LeaseScript where Argument == NoArgument {
    /// Never asked for: a script without arguments declares none (`NoArgument.allCases` is empty).
    func argument(_ argument: NoArgument) -> String { "" }
}

extension RedisPool {
    /// Runs one lease script with its keys (a pool's, or the installation's) and decodes its reply; retried
    /// after a lost connection only if the script is idempotent.
    func run<Script: LeaseScript>(_ call: Script, keys: RedisScriptKeys) async throws(LeaseStoreError) -> Script.Reply {
        let reply: RedisValue
        do {
            reply = try await run(Script.script, keys: keys, arguments: call.arguments)
        } catch {
            throw .redis(error)
        }
        return try Script.decode(reply)
    }
}
