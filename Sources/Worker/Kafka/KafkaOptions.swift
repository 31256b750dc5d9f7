import ArgumentParser
import Foundation
import RollcallKafka
import ServerSupport

/// What the worker consumes from Kafka: set KAFKA_BROKERS and KAFKA_TOPICS and it consumes its lease's
/// consumer group (docs/operations.md, "Kafka"). TLS and SASL come as files, like the other secrets.
struct KafkaOptions: ParsableArguments {
    @Option(
        help: "Kafka bootstrap brokers, host:port[,host:port] (KAFKA_BROKERS); with KAFKA_TOPICS the worker consumes its lease's group.")
    var kafkaBrokers: String?
    @Option(help: "Topics the lease's consumer group reads, comma-separated (KAFKA_TOPICS).") var kafkaTopics: String?
    @Option(
        help:
            "Request/reply: send a request to this topic every KAFKA_REQUEST_INTERVAL while in the lease's group, the group in a reply-group header; replies come on KAFKA_TOPICS (KAFKA_REQUEST_TOPIC)."
    )
    var kafkaRequestTopic: String?

    /// KAFKA_REQUEST_TOPIC and KAFKA_REQUEST_INTERVAL (default 1s): the worker as a requester, its
    /// producer on `consumer`'s brokers (what `resolve` gave) with its TLS and SASL settings. nil without
    /// KAFKA_REQUEST_TOPIC.
    func resolveRequests(_ environment: [String: String], consumer: LeaseBoundConsumer.Configuration?) throws -> KafkaRequests
        .Configuration?
    {
        guard let topic = kafkaRequestTopic ?? environment["KAFKA_REQUEST_TOPIC"].flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
        guard Self.isTopicName(topic) else {
            throw ValidationError("KAFKA_REQUEST_TOPIC: \"\(topic)\" is not a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -)")
        }
        guard let consumer else {
            throw ValidationError("KAFKA_REQUEST_TOPIC needs KAFKA_BROKERS and KAFKA_TOPICS (the replies come on those topics)")
        }
        var settings = consumer.settings
        settings["bootstrap.servers"] = consumer.brokers
        var requests = KafkaRequests.Configuration(topic: topic, settings: settings)
        requests.interval = try Settings(environment: environment).duration(nil, "KAFKA_REQUEST_INTERVAL", requests.interval)
        guard requests.interval >= .milliseconds(10) else { throw ValidationError("KAFKA_REQUEST_INTERVAL must be at least 10ms") }
        return requests
    }

    /// Every variable this reads: KAFKA_BROKERS, KAFKA_TOPICS; KAFKA_CA_FILE (TLS, the brokers'
    /// certificates checked against it), KAFKA_CERT_FILE and KAFKA_KEY_FILE (a client certificate);
    /// KAFKA_SASL_MECHANISM (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), KAFKA_SASL_USERNAME and
    /// KAFKA_SASL_PASSWORD(_FILE); KAFKA_BATCH (records per batch, default 500).
    func resolve(_ environment: [String: String]) throws -> LeaseBoundConsumer.Configuration? {
        let settings = Settings(environment: environment)
        let value = { (name: String) in environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let brokers = kafkaBrokers ?? value("KAFKA_BROKERS")
        let topics = (kafkaTopics ?? value("KAFKA_TOPICS"))?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard brokers != nil || topics != nil else { return nil }
        guard let brokers, let topics, !topics.isEmpty else { throw ValidationError("set both KAFKA_BROKERS and KAFKA_TOPICS, or neither") }
        for topic in topics where !Self.isTopicName(topic) {
            throw ValidationError("KAFKA_TOPICS: \"\(topic)\" is not a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -)")
        }
        var configuration = LeaseBoundConsumer.Configuration(brokers: brokers, topics: topics)
        configuration.batchSize = try settings.number(nil as Int?, "KAFKA_BATCH", configuration.batchSize, in: 1...100_000)
        func file(_ variable: String) throws -> String? {
            guard let path = value(variable) else { return nil }
            guard FileManager.default.isReadableFile(atPath: path) else { throw ValidationError("\(variable)=\(path) cannot be read") }
            return path
        }
        let ca = try file("KAFKA_CA_FILE")
        let (certificate, key) = (try file("KAFKA_CERT_FILE"), try file("KAFKA_KEY_FILE"))
        guard (certificate == nil) == (key == nil) else { throw ValidationError("set both KAFKA_CERT_FILE and KAFKA_KEY_FILE, or neither") }
        if let ca { configuration.settings["ssl.ca.location"] = ca }
        if let certificate, let key {
            configuration.settings["ssl.certificate.location"] = certificate
            configuration.settings["ssl.key.location"] = key
        }
        let mechanism = value("KAFKA_SASL_MECHANISM")
        if let mechanism {
            guard ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"].contains(mechanism) else {
                throw ValidationError("KAFKA_SASL_MECHANISM must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
            }
            guard let username = value("KAFKA_SASL_USERNAME"), let password = try settings.secret("KAFKA_SASL_PASSWORD") else {
                throw ValidationError(
                    "KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)")
            }
            configuration.settings["sasl.mechanism"] = mechanism
            configuration.settings["sasl.username"] = username
            configuration.settings["sasl.password"] = password
        }
        let tls = ca != nil || certificate != nil
        configuration.settings["security.protocol"] = mechanism == nil ? (tls ? "ssl" : "plaintext") : (tls ? "sasl_ssl" : "sasl_plaintext")
        return configuration
    }

    static func isTopicName(_ name: String) -> Bool {
        (1...249).contains(name.utf8.count) && name != "." && name != ".."
            && name.utf8.allSatisfy {
                $0.isASCIIAlphanumeric || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            }
    }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
