import ArgumentParser
import Coordination
import Foundation
import Logging
import RollcallClient
import ServerSupport

/// `worker`: leases a number, claims its partitions in Postgres and processes them; serves Snowflake ids.
@main
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Rollcall worker: fenced partition claims, the work loop, Snowflake ids.",
        version: rollcallVersion, subcommands: [Serve.self, Seed.self, Migrate.self], defaultSubcommand: Serve.self)
}

extension WorkerCommand {
    /// Runs the worker until SIGTERM or SIGINT (the default subcommand).
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the worker (default).")

        @Option(help: "Worker name, a DNS label like a pod name (POD_NAME, else the host name).") var name: String?
        @Option(help: "Address to listen on (HOST).") var host: String?
        @Option(help: "Port to listen on (PORT, default 8081).") var port: Int?
        @Option(help: "Control plane base URL (CONTROL_PLANE_URL).") var controlPlaneURL: String?
        @Option(help: "How often the work loop runs, e.g. 1s (WORK_INTERVAL).") var workInterval: String?
        @Option(help: "Partitions per work transaction, 1...65536 (WORK_BATCH, default 64).") var workBatch: Int?
        @Option(help: "How often the rows done per partition go with a heartbeat, e.g. 10s (LOAD_REPORT_INTERVAL).")
        var loadReportInterval: String?
        @Option(help: "Share of the lease TTL not trusted, 0..<1 (LEASE_DRIFT_ALLOWANCE, default 0.1).") var leaseDriftAllowance: Double?
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var kafka: KafkaOptions
        @OptionGroup var http: HTTPLimitOptions

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            tuneMalloc(environment: environment)
            let configuration = try resolve(environment)
            bootstrapLogging(level: configuration.logLevel)
            try await WorkerApp(configuration: configuration, logger: Logger(label: "rollcall.worker")).run()
        }

        func resolve(_ environment: [String: String]) throws -> WorkerConfiguration {
            let settings = Settings(environment: environment)
            let rawName = name ?? environment["POD_NAME"] ?? ProcessInfo.processInfo.hostName.lowercased()
            guard let workerName = WorkerName(rawValue: rawName) else { throw ValidationError("POD_NAME \(rawName): \(WorkerName.rule)") }
            var configuration = WorkerConfiguration(name: workerName)
            configuration.host = host ?? environment["HOST"] ?? configuration.host
            configuration.port = try settings.number(port, "PORT", configuration.port, in: 1...65535)
            configuration.controlPlaneURL = controlPlaneURL ?? environment["CONTROL_PLANE_URL"] ?? configuration.controlPlaneURL
            guard configuration.controlPlaneURL.hasPrefix("http://") || configuration.controlPlaneURL.hasPrefix("https://") else {
                throw ValidationError("CONTROL_PLANE_URL must start with http:// or https://")
            }
            configuration.authToken = try settings.secret("AUTH_TOKEN")
            configuration.authTokenFile = environment["AUTH_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 }
            configuration.controlPlaneTLS = try Self.controlPlaneTLS(environment)
            configuration.workInterval = try settings.duration(workInterval, "WORK_INTERVAL", configuration.workInterval)
            configuration.workBatch = try settings.number(workBatch, "WORK_BATCH", configuration.workBatch, in: 1...65536)
            configuration.loadReportInterval = try settings.duration(
                loadReportInterval, "LOAD_REPORT_INTERVAL", configuration.loadReportInterval)
            configuration.driftAllowance = try settings.number(
                leaseDriftAllowance, "LEASE_DRIFT_ALLOWANCE", configuration.driftAllowance, in: 0...0.9)
            try database.resolve(environment, into: &configuration)
            configuration.kafka = try kafka.resolve(environment)
            configuration.kafkaRequests = try kafka.resolveRequests(environment, consumer: configuration.kafka)
            configuration.http = try http.resolve(settings)
            return configuration
        }

        /// CONTROL_PLANE_CA_FILE, with CONTROL_PLANE_CERT_FILE and CONTROL_PLANE_KEY_FILE for a control
        /// plane that wants client certificates; each file is read now so a bad one stops the start.
        static func controlPlaneTLS(_ environment: [String: String]) throws -> ClientTLS? {
            let file = { (name: String) in environment[name].flatMap { $0.isEmpty ? nil : $0 } }
            let tls = ClientTLS(
                caFile: file("CONTROL_PLANE_CA_FILE"), certificateFile: file("CONTROL_PLANE_CERT_FILE"),
                keyFile: file("CONTROL_PLANE_KEY_FILE"))
            guard (tls.certificateFile == nil) == (tls.keyFile == nil) else {
                throw ValidationError("set both CONTROL_PLANE_CERT_FILE and CONTROL_PLANE_KEY_FILE, or neither")
            }
            guard tls != ClientTLS() else { return nil }
            do {
                _ = try tls.tlsConfiguration()
            } catch {
                throw ValidationError("CONTROL_PLANE_CA_FILE, CONTROL_PLANE_CERT_FILE, CONTROL_PLANE_KEY_FILE: \(error)")
            }
            return tls
        }
    }

    /// Inserts work items spread over the partitions by Partitioning's partitioner, and exits.
    struct Seed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Insert N work items and exit.")

        @Option(help: "How many work items to insert (1...1000000).") var items: Int
        @Option(help: "Number of partitions, as the control plane's PARTITIONS (PARTITIONS, default 1024).") var partitions: Int?
        @Option(help: "Skew the items over the partitions: a Zipf exponent, 0...4 (1: the heaviest partition has twice the second's rows).")
        var skew: Double?
        @Option(
            help:
                "With --skew: rank the partitions in the order this seed draws, so the same inbox comes out every time (default: a random order)."
        )
        var randomSeed: UInt64?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            guard (1...1_000_000).contains(items) else { throw ValidationError("--items must be in 1...1000000") }
            if let skew, !(0...4).contains(skew) { throw ValidationError("--skew must be in 0...4") }
            if randomSeed != nil, skew == nil { throw ValidationError("--random-seed orders a skewed inbox: give --skew too") }
            let partitionCount = try Settings(environment: environment).number(partitions, "PARTITIONS", 1024, in: 1...65536)
            var configuration = WorkerConfiguration(name: WorkerName(rawValue: "seed")!)
            try database.resolve(environment, into: &configuration)
            bootstrapLogging(level: configuration.logLevel)
            let store = WorkStore(configuration: configuration)
            try await store.migrate()
            let inserted = try await store.seed(items: items, partitionCount: partitionCount, skew: skew, randomSeed: randomSeed)
            await store.shutdown()
            print("inserted \(inserted) work items over \(partitionCount) partitions" + (skew.map { ", Zipf-skewed (s = \($0))" } ?? ""))
        }
    }

    /// Creates the tables if they are missing, and exits. `serve` does this too at start.
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the tables if missing, and exit.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            var configuration = WorkerConfiguration(name: WorkerName(rawValue: "migrate")!)
            try database.resolve(ProcessInfo.processInfo.environment, into: &configuration)
            bootstrapLogging(level: configuration.logLevel)
            let store = WorkStore(configuration: configuration)
            try await store.migrate()
            await store.shutdown()
            print("tables are in place")
        }
    }
}
