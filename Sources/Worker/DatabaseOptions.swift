import ArgumentParser
import ServerSupport

/// The flags every subcommand that talks to Postgres shares.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL, postgres://user:password@host:port/db (DATABASE_URL).") var databaseURL: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (LOG_LEVEL).") var logLevel: String?

    func resolve(_ environment: [String: String], into configuration: inout WorkerConfiguration) throws {
        configuration.databaseURL = databaseURL ?? environment["DATABASE_URL"] ?? configuration.databaseURL
        configuration.logLevel = try Settings(environment: environment).logLevel(logLevel)
    }
}
