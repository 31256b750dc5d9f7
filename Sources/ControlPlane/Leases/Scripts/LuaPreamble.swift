/// What the Swift side declares and every lease script's Lua reads, generated in front of it, so the
/// two sides cannot disagree: the key table `K` (from `LeaseKey`), the argument table `A` (from the
/// script's `Argument`; `ARGC` counts them, for a script with trailing arguments) and, for the script
/// that writes the `workers` record, `encodeRecord` (from `WorkerRecord.Field`).
enum LuaPreamble {
    /// `local K = {workers = KEYS[1], …}` in `LeaseKey.allCases` order.
    static let keyTable = keyTable(LeaseKey.self)

    /// `local K = {…}` for the keys of `Key`, in `allCases` order.
    static func keyTable<Key: ScriptName>(_ key: Key.Type) -> String {
        "local K = {" + Key.allCases.enumerated().map { "\($1.rawValue) = KEYS[\($0 + 1)]" }.joined(separator: ", ") + "}"
    }

    /// `local A = {name = ARGV[1], …}` for `names`.
    static func argumentTable(_ names: [String]) -> String {
        "local A = {" + names.enumerated().map { "\($1) = ARGV[\($0 + 1)]" }.joined(separator: ", ") + "}"
    }

    /// `encodeRecord(r)`: one line of JSON with `WorkerRecord.Field`'s fields in order. Strings are
    /// encoded by cjson; integers with `%.0f`, because cjson keeps 14 significant digits and an epoch has 16.
    static let recordEncoder: String = {
        let format = WorkerRecord.Field.allCases.map { "\"\($0.rawValue)\":\($0.isInteger ? "%.0f" : "%s")" }.joined(separator: ",")
        let values = WorkerRecord.Field.allCases.map { $0.isInteger ? "r.\($0.rawValue)" : "cjson.encode(r.\($0.rawValue))" }
        return "local function encodeRecord(r)\n    return string.format('{\(format)}', \(values.joined(separator: ", ")))\nend"
    }()

    /// The script Redis runs: the preamble, then `lua`. Only what the Lua uses is declared, so luacheck
    /// can flag an unused name.
    static func make<Key: ScriptName>(keys: Key.Type, arguments: [String], lua: String) -> String {
        var parts = [keyTable(keys)]
        if !arguments.isEmpty { parts.append(argumentTable(arguments)) }
        if lua.contains("ARGC") { parts.append("local ARGC = \(arguments.count)") }
        if lua.contains("encodeRecord(") { parts.append(recordEncoder) }
        return parts.joined(separator: "\n") + "\n" + lua
    }
}
