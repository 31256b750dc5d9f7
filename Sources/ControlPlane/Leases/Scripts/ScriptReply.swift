import Coordination
import RedisAdapter

/// A script's reply: a flat array of field/value pairs, read by field name. A field the script's
/// `Field` does not declare, a field twice, or an odd count makes it nil (outside the contract).
///
/// Every heartbeat decodes one, so it is kept cheap: the values sit in an array by the field's place in
/// `Field.allCases`, found by comparing the name's bytes (no `String` made, nothing hashed), and which
/// fields came is a bit set.
struct ScriptReply<Field: ScriptName>: Sendable {
    private var values: [RedisValue?]
    private var present = FieldSet<Field>()

    init?(_ value: RedisValue) {
        guard let items = value.array, items.count.isMultiple(of: 2) else { return nil }
        let fields = Field.allCases
        values = Array(repeating: nil, count: fields.count)
        for index in stride(from: 0, to: items.count, by: 2) {
            guard let place = Self.place(of: items[index], in: fields), !present.contains(place) else { return nil }
            present.insert(place)
            values[place] = items[index + 1]
        }
    }

    /// Where the field named by `name` (a simple or bulk string) is in `fields`.
    private static func place(of name: RedisValue, in fields: Field.AllCases) -> Int? {
        let position: Field.AllCases.Index?
        switch name {
        case .bulkString(let bytes): position = fields.firstIndex { $0.rawValue.utf8.elementsEqual(bytes) }
        case .simpleString(let text): position = fields.firstIndex { $0.rawValue == text }
        default: return nil
        }
        return position.map { fields.distance(from: fields.startIndex, to: $0) }
    }

    subscript(_ field: Field) -> RedisValue? { values[field.place] }

    /// The fields present.
    var fields: FieldSet<Field> { present }

    func string(_ field: Field) -> String? { self[field]?.string }

    func integer(_ field: Field) -> Int64? { self[field]?.integer }

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
    func pairs(_ field: Field) -> [(RedisValue, RedisValue)]? { self[field]?.pairs }
}

/// Which of a script's fields a reply has: a bit per place in `Field.allCases` (at most 64 fields).
struct FieldSet<Field: ScriptName>: Equatable, Sendable, ExpressibleByArrayLiteral {
    private var bits: UInt64 = 0

    init() {}

    init(arrayLiteral fields: Field...) {
        for field in fields { insert(field) }
    }

    var count: Int { bits.nonzeroBitCount }

    func contains(_ place: Int) -> Bool { bits & (1 << UInt64(place)) != 0 }

    mutating func insert(_ place: Int) {
        precondition(place < 64, "a script answers at most 64 fields")
        bits |= 1 << UInt64(place)
    }

    mutating func insert(_ field: Field) { insert(field.place) }

    func union(_ other: FieldSet) -> FieldSet {
        var both = self
        both.bits |= other.bits
        return both
    }
}

extension ScriptName {
    /// Where this field is in `allCases`: its slot in a `ScriptReply`, its bit in a `FieldSet`.
    var place: Int {
        let all = Self.allCases
        return all.distance(from: all.startIndex, to: all.firstIndex(of: self)!)
    }
}

extension RedisValue {
    /// The (field, value) pairs of a flat array (HGETALL, ZRANGE WITHSCORES, a stream entry's fields).
    var pairs: [(RedisValue, RedisValue)]? {
        guard let items = array, items.count.isMultiple(of: 2) else { return nil }
        return stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }
    }
}
