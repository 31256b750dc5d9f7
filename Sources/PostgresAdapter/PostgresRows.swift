/// The rows a statement returned, with their column names, and how many rows it changed.
public struct PostgresRows: Sendable, RandomAccessCollection {
    public let columns: [String]
    public let rows: [PostgresRow]
    /// Rows inserted, updated or deleted (`PQcmdTuples`); 0 for statements that change none.
    public let affectedRows: Int

    public var startIndex: Int { rows.startIndex }
    public var endIndex: Int { rows.endIndex }
    public subscript(position: Int) -> PostgresRow { rows[position] }
}

/// One row, its values in text format. Read them typed with `decode`.
public struct PostgresRow: Sendable {
    public let columns: [String]
    /// nil is SQL NULL.
    public let values: [String?]

    /// The value of column `index` as `T`; throws on NULL, a bad index, or text `T` cannot read.
    public func decode<T: PostgresDecodable>(_ type: T.Type, at index: Int) throws(PostgresError) -> T {
        guard let value = try decode(T?.self, at: index) else {
            throw PostgresError(call: "decode", message: "column \(columns[index]) is NULL, expected \(T.self)")
        }
        return value
    }

    /// The value of column `index` as `T`, nil for NULL.
    public func decode<T: PostgresDecodable>(_ type: T?.Type, at index: Int) throws(PostgresError) -> T? {
        guard values.indices.contains(index) else {
            throw PostgresError(call: "decode", message: "no column \(index); the row has \(values.count)")
        }
        guard let text = values[index] else { return nil }
        guard let value = T(postgresText: text) else {
            throw PostgresError(call: "decode", message: "column \(columns[index]) holds \(text.prefix(64)), not a \(T.self)")
        }
        return value
    }

    /// The value of the column named `column` as `T`.
    public func decode<T: PostgresDecodable>(_ type: T.Type, column: String) throws(PostgresError) -> T {
        try decode(type, at: try index(of: column))
    }

    /// The value of the column named `column` as `T`, nil for NULL.
    public func decode<T: PostgresDecodable>(_ type: T?.Type, column: String) throws(PostgresError) -> T? {
        try decode(type, at: try index(of: column))
    }

    private func index(of column: String) throws(PostgresError) -> Int {
        guard let index = columns.firstIndex(of: column) else {
            throw PostgresError(call: "decode", message: "no column named \(column); columns: \(columns.joined(separator: ", "))")
        }
        return index
    }
}
