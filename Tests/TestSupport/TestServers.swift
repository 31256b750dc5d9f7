import Foundation

/// The throwaway servers scripts/test starts, found through the URLs it exports.
///
/// Outside CI a developer may run `swift test` without them: the integration tests are then
/// disabled. Under `CI=true` they are always enabled, and a missing URL fails them loudly.
public enum TestServers {
    /// `ROLLCALL_TEST_REDIS_URL`, e.g. `redis://127.0.0.1:41234`.
    public static var redisURL: String? { environment("ROLLCALL_TEST_REDIS_URL") }
    /// `ROLLCALL_TEST_DATABASE_URL`, e.g. `postgres://postgres:secret@127.0.0.1:41235/rollcall`.
    public static var databaseURL: String? { environment("ROLLCALL_TEST_DATABASE_URL") }

    /// Whether tests needing Redis run: under CI always; elsewhere when the URL is set.
    public static var runRedisTests: Bool { isCI || redisURL != nil }
    /// Whether tests needing PostgreSQL run: under CI always; elsewhere when the URL is set.
    public static var runPostgresTests: Bool { isCI || databaseURL != nil }

    public static var isCI: Bool { environment("CI") == "true" }

    /// A Kafka-protocol broker (host:port) scripts/test started; the Kafka tests skip without one.
    public static var kafkaBrokers: String? { environment("ROLLCALL_TEST_KAFKA_BROKERS") }

    /// The Redis URL, or an error telling how to get one.
    public static func requireRedisURL() throws -> String {
        guard let url = redisURL else { throw Missing(variable: "ROLLCALL_TEST_REDIS_URL") }
        return url
    }

    /// The PostgreSQL URL, or an error telling how to get one.
    public static func requireDatabaseURL() throws -> String {
        guard let url = databaseURL else { throw Missing(variable: "ROLLCALL_TEST_DATABASE_URL") }
        return url
    }

    public struct Missing: Error, CustomStringConvertible {
        public let variable: String
        public var description: String { "\(variable) is not set: run the tests through scripts/test, which starts the servers" }
    }

    private static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}
