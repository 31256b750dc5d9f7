import Foundation
import TestSupport
import Testing

@testable import PostgresAdapter

@Suite(.enabled(if: TestServers.runPostgresTests, "needs ROLLCALL_TEST_DATABASE_URL (scripts/test sets it)"))
struct PostgresPoolTests {
    let url: String
    /// A table of this test's own, so tests can run in parallel.
    let table = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()

    init() throws { url = try TestServers.requireDatabaseURL() }

    func withPool<T>(poolSize: Int = 2, _ body: (PostgresPool) async throws -> T) async throws -> T {
        let pool = PostgresPool(configuration: PostgresConfiguration(url: url, poolSize: poolSize))
        do {
            let result = try await body(pool)
            _ = try? await pool.query("DROP TABLE IF EXISTS \(table)")
            await pool.shutdown()
            return result
        } catch {
            await pool.shutdown()
            throw error
        }
    }

    @Test("parameters go in as text and rows come out typed, NULL as nil")
    func typedRows() async throws {
        try await withPool { pool async throws in
            let id = UUID()
            let rows = try await pool.query(
                "SELECT $1::int AS n, $2::bigint AS big, $3::text AS s, $4::bool AS b, $5::uuid AS u, NULL::int AS missing, 2.5::float8 AS d",
                [42, Int64(1 << 40), "héllo", true, id])
            let row = try #require(rows.first)
            #expect(rows.columns == ["n", "big", "s", "b", "u", "missing", "d"])
            #expect(try row.decode(Int.self, column: "n") == 42)
            #expect(try row.decode(Int64.self, column: "big") == 1 << 40)
            #expect(try row.decode(String.self, column: "s") == "héllo")
            #expect(try row.decode(Bool.self, column: "b") == true)
            #expect(try row.decode(UUID.self, column: "u") == id)
            #expect(try row.decode(Int?.self, column: "missing") == nil)
            #expect(try row.decode(Double.self, at: 6) == 2.5)
        }
    }

    @Test("a NULL read as non-optional, text read as a number, or an unknown column is a clear decode error")
    func decodeErrors() async throws {
        try await withPool { pool async throws in
            let row = try #require(try await pool.query("SELECT NULL::int AS a, 'x'::text AS b").first)
            #expect(throws: PostgresError.self) { try row.decode(Int.self, column: "a") }
            #expect(throws: PostgresError.self) { try row.decode(Int.self, column: "b") }
            #expect(throws: PostgresError.self) { try row.decode(Int.self, column: "nope") }
            #expect(throws: PostgresError.self) { try row.decode(Int.self, at: 9) }
        }
    }

    @Test("a statement reports how many rows it changed; int arrays bind for ANY($1)")
    func affectedRowsAndArrays() async throws {
        try await withPool { pool async throws in
            try await pool.query("CREATE TABLE \(table) (id int PRIMARY KEY, v int NOT NULL DEFAULT 0)")
            #expect(try await pool.query("INSERT INTO \(table) (id) SELECT generate_series(1, 10)").affectedRows == 10)
            #expect(try await pool.query("UPDATE \(table) SET v = v + 1 WHERE id = ANY($1)", [[2, 4, 6]]).affectedRows == 3)
            #expect(try await pool.query("SELECT count(*) FROM \(table) WHERE v = 1").first?.decode(Int.self, at: 0) == 3)
        }
    }

    @Test("an error inside a transaction rolls back everything it did")
    func transactionRollsBack() async throws {
        struct Abort: Error {}
        try await withPool { pool async throws in
            try await pool.query("CREATE TABLE \(table) (id int PRIMARY KEY)")
            let table = self.table
            await #expect(throws: Abort.self) {
                try await pool.transaction { transaction in
                    try transaction.query("INSERT INTO \(table) VALUES (1), (2)")
                    throw Abort()
                }
            }
            #expect(try await pool.query("SELECT count(*) FROM \(table)").first?.decode(Int.self, at: 0) == 0)
            let committed = try await pool.transaction { transaction in
                try transaction.query("INSERT INTO \(table) VALUES (3)").affectedRows
            }
            #expect(committed == 1)
            #expect(try await pool.query("SELECT count(*) FROM \(table)").first?.decode(Int.self, at: 0) == 1)
        }
    }

    @Test("a unique violation carries SQLSTATE 23505 and the server's message, and rolls the transaction back")
    func uniqueViolation() async throws {
        try await withPool { pool async throws in
            try await pool.query("CREATE TABLE \(table) (id int PRIMARY KEY)")
            let table = self.table
            await #expect {
                try await pool.transaction { transaction in
                    try transaction.query("INSERT INTO \(table) VALUES (7)")
                    try transaction.query("INSERT INTO \(table) VALUES (7)")
                }
            } throws: { error in
                guard let error = error as? PostgresError else { return false }
                return error.sqlState == "23505" && error.isUniqueViolation && error.call == "PQexecParams"
                    && error.message.contains("duplicate key") && error.detail?.contains("(id)=(7)") == true
            }
            #expect(try await pool.query("SELECT count(*) FROM \(table)").first?.decode(Int.self, at: 0) == 0)
        }
    }

    @Test("a syntax error names the call and carries its SQLSTATE, and the connection stays usable")
    func syntaxError() async throws {
        try await withPool(poolSize: 1) { pool async throws in
            await #expect {
                try await pool.query("SELEC 1")
            } throws: { error in
                (error as? PostgresError)?.sqlState == "42601"
            }
            #expect(try await pool.query("SELECT 1").first?.decode(Int.self, at: 0) == 1)
        }
    }

    @Test("a wrong password fails the connect with the server's reason")
    func wrongPassword() async throws {
        var components = try #require(URLComponents(string: url))
        components.password = "wrong-password"
        let pool = PostgresPool(configuration: PostgresConfiguration(url: components.string!))
        await #expect {
            try await pool.query("SELECT 1")
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            return error.call == "PQconnectdbParams" && error.isConnectionFailure
                && error.message.contains("password authentication failed") && !error.description.contains("wrong-password")
        }
        await pool.shutdown()
    }

    @Test("a password given apart from the URL replaces the URL's (DATABASE_PASSWORD_FILE)")
    func separatePassword() async throws {
        var components = try #require(URLComponents(string: url))
        let password = try #require(components.password)
        components.password = "wrong-password"
        let pool = PostgresPool(configuration: PostgresConfiguration(url: components.string!, password: password))
        #expect(try await pool.query("SELECT 1").first?.decode(Int.self, at: 0) == 1)
        await pool.shutdown()
        components.password = nil
        let withoutPassword = PostgresPool(configuration: PostgresConfiguration(url: components.string!, password: password))
        #expect(try await withoutPassword.query("SELECT 1").first?.decode(Int.self, at: 0) == 1)
        await withoutPassword.shutdown()
    }

    @Test("a refused connection is a connection failure naming PQconnectdbParams")
    func refused() async throws {
        let pool = PostgresPool(configuration: PostgresConfiguration(url: "postgres://postgres@127.0.0.1:1/x", connectTimeout: .seconds(2)))
        await #expect {
            try await pool.query("SELECT 1")
        } throws: { error in
            (error as? PostgresError)?.call == "PQconnectdbParams"
        }
        await pool.shutdown()
    }

    @Test("after its backend is terminated, the pool drops the connection and the next query reconnects")
    func reconnectAfterTermination() async throws {
        try await withPool(poolSize: 1) { pool async throws in
            let pid = try #require(try await pool.query("SELECT pg_backend_pid()").first?.decode(Int.self, at: 0))
            try await withPool(poolSize: 1) { killer async throws in
                #expect(try await killer.query("SELECT pg_terminate_backend($1)", [pid]).first?.decode(Bool.self, at: 0) == true)
            }
            await #expect {
                try await pool.query("SELECT 1")
            } throws: { error in
                (error as? PostgresError)?.isConnectionFailure == true
            }
            let newPid = try #require(try await pool.query("SELECT pg_backend_pid()").first?.decode(Int.self, at: 0))
            #expect(newPid != pid)
        }
    }

    @Test("concurrent queries over a small pool all run")
    func concurrency() async throws {
        try await withPool(poolSize: 2) { pool async throws in
            try await pool.query("CREATE TABLE \(table) (id int PRIMARY KEY)")
            let table = self.table
            try await withThrowingTaskGroup(of: Void.self) { group in
                for id in 0..<100 { group.addTask { try await pool.query("INSERT INTO \(table) VALUES ($1)", [id]) } }
                try await group.waitForAll()
            }
            #expect(try await pool.query("SELECT count(*) FROM \(table)").first?.decode(Int.self, at: 0) == 100)
        }
    }
}
