import Testing

@testable import ControlPlane

struct ConfigurationTests {
    @Test("flags win over environment variables, which win over defaults")
    func precedence() throws {
        let command = try ControlPlaneCommand.parse(["--port", "9000", "--lease-ttl", "500ms"])
        let configuration = try command.resolve([
            "PORT": "7000", "LEASE_TTL": "3s", "HEARTBEAT_INTERVAL": "100ms", "PARTITIONS": "64", "AUTH_TOKEN": "t",
        ])
        #expect(configuration.port == 9000)
        #expect(configuration.lease.leaseTTL == .milliseconds(500))
        #expect(configuration.lease.heartbeatInterval == .milliseconds(100))
        #expect(configuration.lease.partitionCount == 64)
        #expect(configuration.authToken == "t")
        let defaults = try ControlPlaneCommand.parse([]).resolve([:])
        #expect(defaults.port == 8080 && defaults.redisURL == "redis://127.0.0.1:6379" && defaults.lease.leaseTTL == .seconds(10))
        #expect(defaults.lease.maxWorkers == 1024 && defaults.lease.partitionCount == 1024 && defaults.authToken == nil)
    }

    @Test(
        "bad settings are refused with a message naming the variable",
        arguments: [
            ["PORT": "http"], ["PORT": "0"], ["LEASE_TTL": "ten"], ["LEASE_TTL": "0s"], ["MAX_WORKERS": "2000"], ["PARTITIONS": "0"],
            ["EPSILON": "-1"], ["HEARTBEAT_INTERVAL": "20s"], ["CONSUMER_GROUP_PREFIX": "a b"], ["LOG_LEVEL": "loud"],
        ])
    func refusesBadSettings(environment: [String: String]) throws {
        #expect(throws: (any Error).self) { try ControlPlaneCommand.parse([]).resolve(environment) }
    }

    @Test("durations read 500ms, 2s, 1m and refuse nonsense")
    func durations() {
        #expect(Duration(text: "500ms") == .milliseconds(500))
        #expect(Duration(text: "2s") == .seconds(2))
        #expect(Duration(text: "1m") == .seconds(60))
        #expect(Duration(text: "1.5s") == .milliseconds(1500))
        #expect(Duration(text: "10") == nil)
        #expect(Duration(text: "-1s") == nil)
        #expect(Duration(text: "s") == nil)
    }
}
