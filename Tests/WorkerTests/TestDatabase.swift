import PostgresAdapter

/// A database of one test's own on a PostgreSQL server, made from the server's admin URL and dropped after.
struct TestDatabase {
    let adminURL: String
    let name: String
    /// The admin URL with this database in place of the admin one (query options kept).
    let url: String

    /// Creates `<prefix>_<random>` on the server behind `adminURL`.
    static func create(prefix: String, adminURL: String) async throws -> TestDatabase {
        let name = "\(prefix)_\(UInt32.random(in: 0 ... .max))"
        let admin = PostgresPool(configuration: PostgresConfiguration(url: adminURL, poolSize: 1))
        do {
            try await admin.query("CREATE DATABASE \(name)")
        } catch {
            await admin.shutdown()
            throw error
        }
        await admin.shutdown()
        guard let slash = adminURL.lastIndex(of: "/") else { return TestDatabase(adminURL: adminURL, name: name, url: adminURL) }
        let options = adminURL[slash...].firstIndex(of: "?").map { String(adminURL[$0...]) } ?? ""
        return TestDatabase(adminURL: adminURL, name: name, url: String(adminURL[..<slash]) + "/" + name + options)
    }

    /// Drops the database, closing whatever connections are still open to it.
    func drop() async {
        let admin = PostgresPool(configuration: PostgresConfiguration(url: adminURL, poolSize: 1))
        _ = try? await admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        await admin.shutdown()
    }
}
