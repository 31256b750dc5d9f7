import Coordination
import RedisAdapter

/// A script's reply: a flat array of field/value pairs, read by field name. A field the script's
/// `Field` does not declare, a field twice, or an odd count makes it nil (outside the contract).
struct ScriptReply<Field: ScriptName>: Sendable {
    private var values: [Field: RedisValue] = [:]

    init?(_ value: RedisValue) {
        guard let pairs = value.pairs else { return nil }
        for (name, value) in pairs {
            guard let name = name.string, let field = Field(rawValue: name), values[field] == nil else { return nil }
            values[field] = value
        }
    }

    subscript(_ field: Field) -> RedisValue? { values[field] }

    /// The fields present.
    var fields: Set<Field> { Set(values.keys) }

    func string(_ field: Field) -> String? { values[field]?.string }

    func integer(_ field: Field) -> Int64? { values[field]?.integer }

    /// A non-negative integer, from an integer or a decimal string.
    func count(_ field: Field) -> Int64? { integer(field).flatMap { $0 >= 0 ? $0 : nil } }

    /// A 0/1 flag.
    func flag(_ field: Field) -> Bool? {
        switch integer(field) {
        case 0: false
        case 1: true
        default: nil
        }
    }

    /// A field/value array nested in the reply (HGETALL, ZRANGE WITHSCORES), as pairs.
    func pairs(_ field: Field) -> [(RedisValue, RedisValue)]? { values[field]?.pairs }
}

extension RedisValue {
    /// The (field, value) pairs of a flat array (HGETALL, ZRANGE WITHSCORES, a stream entry's fields).
    var pairs: [(RedisValue, RedisValue)]? {
        guard let items = array, items.count.isMultiple(of: 2) else { return nil }
        return stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }
    }
}
