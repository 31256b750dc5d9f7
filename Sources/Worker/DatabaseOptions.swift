import ArgumentParser
import ServerSupport

/// The flags every subcommand that talks to Postgres shares.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL, postgres://user:password@host:port/db (DATABASE_URL or DATABASE_URL_FILE; DATABASE_PASSWORD_FILE overrides its password).")
    var databaseURL: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (LOG_LEVEL).") var logLevel: String?

    func resolve(_ environment: [String: String], into configuration: inout WorkerConfiguration) throws {
        let settings = Settings(environment: environment)
        configuration.databaseURL = try databaseURL ?? settings.secret("DATABASE_URL") ?? configuration.databaseURL
        configuration.databasePassword = try settings.secret("DATABASE_PASSWORD")
        configuration.logLevel = try settings.logLevel(logLevel)
    }
}
