import ArgumentParser
import Coordination
import RollcallClient
import RollcallKafka
import TestSupport
import Testing

@testable import Worker

struct WorkerConfigurationTests {
    func resolve(_ arguments: [String] = [], _ environment: [String: String]) throws -> WorkerConfiguration {
        try WorkerCommand.Serve.parse(arguments).resolve(environment)
    }

    @Test("defaults work on one machine, and POD_NAME names the worker")
    func defaults() throws {
        let configuration = try resolve([], ["POD_NAME": "worker-7"])
        #expect(configuration.name.rawValue == "worker-7")
        #expect(configuration.port == 8081)
        #expect(configuration.controlPlaneURL == "http://127.0.0.1:8080")
        #expect(configuration.workInterval == .seconds(1))
        #expect(configuration.workBatch == 64)
        #expect(configuration.authToken == nil)
        #expect(configuration.pool == .default)
    }

    @Test("POOL (or --pool) names the worker's pool: its routes on the control plane and its tables; a bad name is refused")
    func pool() throws {
        let configuration = try resolve([], ["POD_NAME": "w", "POOL": "payments"])
        #expect(configuration.pool.rawValue == "payments")
        #expect(try resolve(["--pool", "tags"], ["POD_NAME": "w", "POOL": "payments"]).pool.rawValue == "tags")
        #expect(WorkTables(pool: configuration.pool).owners == #""payments".partition_owners"#)
        #expect(WorkTables(pool: .default).owners == "partition_owners" && WorkTables(pool: .default).items == "work_items")
        var client = RollcallClientConfiguration(baseURL: "http://cp:8080/", name: WorkerName(rawValue: "pod-a")!)
        #expect(client.leasePath == "/v1/workers/pod-a", "the default pool keeps the routes without a pool")
        client.pool = configuration.pool
        #expect(client.leasePath == "/v1/pools/payments/workers/pod-a")
        do {
            _ = try resolve([], ["POD_NAME": "w", "POOL": "Pay_ments"])
            Issue.record("a bad pool name was accepted")
        } catch {
            #expect("\(error)".contains("POOL Pay_ments") && "\(error)".contains("DNS-1123 label"))
        }
    }

    @Test("KAFKA_BROKERS and KAFKA_TOPICS turn the lease-bound consumer on; TLS and SASL become librdkafka's settings")
    func kafka() throws {
        #expect(try resolve([], ["POD_NAME": "w"]).kafka == nil, "no Kafka unless asked")
        let plain = try #require(
            try resolve([], ["POD_NAME": "w", "KAFKA_BROKERS": "k1:9092,k2:9092", "KAFKA_TOPICS": "replies, events"]).kafka)
        #expect(plain.brokers == "k1:9092,k2:9092" && plain.topics == ["replies", "events"] && plain.batchSize == 500)
        #expect(plain.settings == ["security.protocol": "plaintext"])
        let secrets = try SecretFolder()
        let ca = try secrets.write("ca.crt", "-----BEGIN CERTIFICATE-----")
        let password = try secrets.write("sasl", "s3cret\n")
        let secure = try #require(
            try resolve(
                ["--kafka-brokers", "k:9093", "--kafka-topics", "replies"],
                [
                    "POD_NAME": "w", "KAFKA_CA_FILE": ca, "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": "rollcall",
                    "KAFKA_SASL_PASSWORD_FILE": password, "KAFKA_BATCH": "50",
                ]
            ).kafka)
        #expect(secure.batchSize == 50)
        #expect(
            secure.settings == [
                "security.protocol": "sasl_ssl", "ssl.ca.location": ca, "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "rollcall",
                "sasl.password": "s3cret",
            ])
        // What the consumer adds for its membership: static membership, commits by hand, a session no longer than the lease.
        let membership = GroupMembership.Membership(
            group: "inbox-3", instanceID: "inbox-3", number: WorkerNumber(rawValue: 3)!, epoch: Epoch(rawValue: 7))
        let settings = secure.consumerSettings(for: membership, leaseTTL: .seconds(4))
        #expect(settings["group.id"] == "inbox-3" && settings["group.instance.id"] == "inbox-3")
        #expect(settings["enable.auto.commit"] == "false" && settings["session.timeout.ms"] == "4000")
        #expect(secure.consumerSettings(for: membership, leaseTTL: .seconds(10))["session.timeout.ms"] == "6000")
    }

    @Test("KAFKA_REQUEST_TOPIC makes the worker a requester too, its producer on the consumer's brokers, TLS and SASL")
    func kafkaRequests() throws {
        #expect(try resolve([], ["POD_NAME": "w", "KAFKA_BROKERS": "k:9092", "KAFKA_TOPICS": "replies"]).kafkaRequests == nil)
        let secrets = try SecretFolder()
        let ca = try secrets.write("ca.crt", "-----BEGIN CERTIFICATE-----")
        let requests = try #require(
            try resolve(
                [],
                [
                    "POD_NAME": "w", "KAFKA_BROKERS": "k1:9093", "KAFKA_TOPICS": "replies", "KAFKA_CA_FILE": ca,
                    "KAFKA_REQUEST_TOPIC": "requests", "KAFKA_REQUEST_INTERVAL": "250ms",
                ]
            ).kafkaRequests)
        #expect(requests.topic == "requests" && requests.interval == .milliseconds(250))
        #expect(requests.settings == ["bootstrap.servers": "k1:9093", "security.protocol": "ssl", "ssl.ca.location": ca])
        let byFlag = try resolve(
            ["--kafka-request-topic", "asks"],
            ["POD_NAME": "w", "KAFKA_BROKERS": "k:9092", "KAFKA_TOPICS": "replies", "KAFKA_REQUEST_TOPIC": "x"])
        #expect(byFlag.kafkaRequests?.topic == "asks" && byFlag.kafkaRequests?.interval == .seconds(1))
    }

    @Test("Kafka settings that cannot work stop the start with the variable named")
    func badKafka() throws {
        let cases: [([String: String], String)] = [
            (["KAFKA_BROKERS": "k:9092"], "set both KAFKA_BROKERS and KAFKA_TOPICS"),
            (["KAFKA_TOPICS": "replies"], "set both KAFKA_BROKERS and KAFKA_TOPICS"),
            (["KAFKA_BROKERS": "k:9092", "KAFKA_TOPICS": "bad topic"], "KAFKA_TOPICS: \"bad topic\""),
            (
                ["KAFKA_BROKERS": "k:9092", "KAFKA_TOPICS": "t", "KAFKA_CA_FILE": "/no/such/ca.crt"],
                "KAFKA_CA_FILE=/no/such/ca.crt cannot be read"
            ),
            (["KAFKA_BROKERS": "k:9092", "KAFKA_TOPICS": "t", "KAFKA_SASL_MECHANISM": "GSSAPI"], "KAFKA_SASL_MECHANISM must be"),
            (["KAFKA_BROKERS": "k:9092", "KAFKA_TOPICS": "t", "KAFKA_SASL_MECHANISM": "PLAIN"], "needs KAFKA_SASL_USERNAME"),
            (["KAFKA_BROKERS": "k:9092", "KAFKA_TOPICS": "t", "KAFKA_BATCH": "0"], "KAFKA_BATCH"),
            (["KAFKA_BROKERS": "k:9092", "KAFKA_TOPICS": "t", "KAFKA_CERT_FILE": "/etc/hostname"], "KAFKA_CERT_FILE and KAFKA_KEY_FILE"),
            (["KAFKA_REQUEST_TOPIC": "requests"], "KAFKA_REQUEST_TOPIC needs KAFKA_BROKERS and KAFKA_TOPICS"),
            (["KAFKA_BROKERS": "k:9092", "KAFKA_TOPICS": "t", "KAFKA_REQUEST_TOPIC": "re/quests"], "KAFKA_REQUEST_TOPIC: \"re/quests\""),
            (
                ["KAFKA_BROKERS": "k:9092", "KAFKA_TOPICS": "t", "KAFKA_REQUEST_TOPIC": "r", "KAFKA_REQUEST_INTERVAL": "soon"],
                "KAFKA_REQUEST_INTERVAL"
            ),
            (
                ["KAFKA_BROKERS": "k:9092", "KAFKA_TOPICS": "t", "KAFKA_REQUEST_TOPIC": "r", "KAFKA_REQUEST_INTERVAL": "1ms"],
                "at least 10ms"
            ),
        ]
        for (environment, message) in cases {
            do {
                _ = try resolve([], environment.merging(["POD_NAME": "w"]) { a, _ in a })
                Issue.record("accepted \(environment)")
            } catch {
                #expect("\(error)".contains(message), "\(environment): \(error)")
            }
        }
    }

    @Test("flags win over environment variables")
    func flagsWin() throws {
        let configuration = try resolve(
            ["--port", "9000", "--work-interval", "250ms", "--name", "pod-b", "--work-batch", "8"],
            [
                "PORT": "9100", "WORK_INTERVAL": "2s", "WORK_BATCH": "16", "POD_NAME": "pod-a", "AUTH_TOKEN": "t0k3n",
                "DATABASE_URL": "postgres://x@h/db",
            ])
        #expect(configuration.port == 9000)
        #expect(configuration.workInterval == .milliseconds(250))
        #expect(configuration.workBatch == 8)
        #expect(configuration.name.rawValue == "pod-b")
        #expect(configuration.authToken == "t0k3n")
        #expect(configuration.databaseURL == "postgres://x@h/db")
    }

    @Test(
        "bad settings are refused with a message that names them",
        arguments: [
            ["POD_NAME": "Not_A_Pod"], ["POD_NAME": "w", "PORT": "70000"], ["POD_NAME": "w", "WORK_INTERVAL": "soon"],
            ["POD_NAME": "w", "CONTROL_PLANE_URL": "ftp://cp"], ["POD_NAME": "w", "LEASE_DRIFT_ALLOWANCE": "1.5"],
            ["POD_NAME": "w", "LOG_LEVEL": "loud"], ["POD_NAME": "w", "WORK_BATCH": "0"], ["POD_NAME": "w", "WORK_BATCH": "many"],
        ])
    func refused(_ environment: [String: String]) throws {
        #expect(throws: ValidationError.self) { try resolve([], environment) }
    }

    @Test("the database URL, its password and the token come from the files *_FILE names")
    func secretsFromFiles() throws {
        let folder = try SecretFolder()
        let configuration = try resolve(
            [],
            [
                "POD_NAME": "w", "AUTH_TOKEN_FILE": try folder.write("auth-token", "t0k3n\n"),
                "DATABASE_URL_FILE": try folder.write("database-url", "postgres://rollcall@db.example:5432/inbox\n"),
                "DATABASE_PASSWORD_FILE": try folder.write("database-password", "pa ss\n"),
            ])
        #expect(configuration.authToken == "t0k3n")
        #expect(configuration.databaseURL == "postgres://rollcall@db.example:5432/inbox")
        #expect(configuration.databasePassword == "pa ss")
        #expect(throws: ValidationError.self) {
            try resolve([], ["POD_NAME": "w", "DATABASE_URL_FILE": folder.url.appendingPathComponent("nothing").path])
        }
        #expect(throws: ValidationError.self) {
            try resolve([], ["POD_NAME": "w", "DATABASE_URL": "postgres://x@h/db", "DATABASE_URL_FILE": folder.url.path])
        }
    }
}
