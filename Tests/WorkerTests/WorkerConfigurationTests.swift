import ArgumentParser
import Coordination
import RollcallClient
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
