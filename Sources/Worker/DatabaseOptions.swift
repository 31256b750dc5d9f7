import ArgumentParser
import Coordination
import Foundation
import ServerSupport

/// The flags every subcommand that talks to Postgres shares; the pool picks the tables.
struct DatabaseOptions: ParsableArguments {
    @Option(
        help:
            "The pool this worker belongs to (POOL, default `default`): its routes on the control plane, and its tables (in a schema named after it; the default pool's are where they always were)."
    )
    var pool: String?
    @Option(
        help:
            "PostgreSQL URL, postgres://user:password@host:port/db (DATABASE_URL or DATABASE_URL_FILE; DATABASE_PASSWORD_FILE overrides its password)."
    )
    var databaseURL: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (LOG_LEVEL).") var logLevel: String?

    func resolve(_ environment: [String: String], into configuration: inout WorkerConfiguration) throws {
        let settings = Settings(environment: environment)
        let rawPool = pool ?? environment["POOL"] ?? PoolName.default.rawValue
        guard let poolName = PoolName(rawValue: rawPool) else { throw ValidationError("POOL \(rawPool): \(PoolName.rule)") }
        configuration.pool = poolName
        configuration.databaseURL = try databaseURL ?? settings.secret("DATABASE_URL") ?? configuration.databaseURL
        configuration.databasePassword = try settings.secret("DATABASE_PASSWORD")
        if let path = environment["DATABASE_CA_FILE"], !path.isEmpty {
            guard FileManager.default.isReadableFile(atPath: path) else { throw ValidationError("DATABASE_CA_FILE=\(path) cannot be read") }
            configuration.databaseCAFile = path
        }
        configuration.logLevel = try settings.logLevel(logLevel)
    }
}
