import AsyncHTTPClient
import Coordination
import Foundation
import NIOCore
import NIOHTTP1
import PostgresAdapter
import RedisAdapter
import TestSupport
import Testing

@testable import Worker

/// A whole Rollcall installation for one test: a fresh database (with audit triggers), a control
/// plane process on the shared test Redis under its own key prefix, and worker processes.
///
/// Every write to `work_items` and every claim in `partition_owners` is recorded by triggers, so
/// `violations()` can check the promise itself: each row was written only by its partition's owner
/// at that moment.
final class SystemHarness: @unchecked Sendable {
    // @unchecked: the worker table is changed only by the test's own task, one step at a time.
    static let leaseTTL: Duration = .seconds(3)
    static let heartbeatInterval: Duration = .milliseconds(250)
    static let partitionCount = 1024

    let databaseURL: String
    let database: PostgresPool
    let logDirectory: String
    private(set) var controlPlane: ChildProcess!
    private(set) var controlPlaneURL = ""
    private(set) var workers: [String: (process: ChildProcess, url: String)] = [:]
    private let redisPrefix = "sys\(UInt32.random(in: 0 ... .max)):"
    private let testDatabase: TestDatabase

    /// Runs `body` against a new installation with `workers` workers and `items` work items; always cleans up.
    /// `standbyHosts` (`host:port`) follow the admin server's host in every database URL of the run (the
    /// harness's own and the workers'), as a multi-host URL names a primary and its standbys.
    static func with(
        workers count: Int, items: Int = 200, adminDatabaseURL: String? = nil, standbyHosts: [String] = [],
        controlPlaneEnvironment: [String: String] = [:], _ body: (SystemHarness) async throws -> Void
    ) async throws {
        let system = try await SystemHarness(
            adminURL: adminDatabaseURL ?? TestServers.requireDatabaseURL(), standbyHosts: standbyHosts, items: items)
        do {
            try await system.startControlPlane(controlPlaneEnvironment)
            for index in 0..<count { try system.startWorker("worker-\(index)") }
            try await body(system)
            let violations = try await system.violations()
            #expect(violations.isEmpty, "rows written by a worker that did not own their partition: \(violations)")
        } catch {
            system.printLogs()
            await system.tearDown()
            throw error
        }
        await system.tearDown()
    }

    private init(adminURL: String, standbyHosts: [String], items: Int) async throws {
        testDatabase = try await TestDatabase.create(prefix: "rollcall_sys", adminURL: adminURL)
        databaseURL = Self.adding(standbyHosts, to: testDatabase.url)
        database = PostgresPool(configuration: PostgresConfiguration(url: databaseURL, poolSize: 2))
        logDirectory = NSTemporaryDirectory() + testDatabase.name
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)

        var configuration = WorkerConfiguration(name: WorkerName(rawValue: "seed")!)
        configuration.databaseURL = databaseURL
        let store = WorkStore(configuration: configuration)
        try await store.migrate()
        for statement in Self.audit { try await database.query(statement) }
        #expect(try await store.seed(items: items, partitionCount: Self.partitionCount) == items)
        await store.shutdown()
    }

    static let audit = [
        "CREATE TABLE owner_audit (partition int, worker text, epoch bigint, at timestamptz DEFAULT clock_timestamp())",
        "CREATE INDEX ON owner_audit (partition, at)",
        "CREATE TABLE work_audit (partition int, worker text, at timestamptz DEFAULT clock_timestamp())",
        """
        CREATE FUNCTION audit_owner() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO owner_audit (partition, worker, epoch) VALUES (NEW.partition, NEW.worker, NEW.epoch); RETURN NEW; END $$
        """,
        "CREATE TRIGGER owner_audit AFTER INSERT OR UPDATE ON partition_owners FOR EACH ROW EXECUTE FUNCTION audit_owner()",
        """
        CREATE FUNCTION audit_work() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO work_audit (partition, worker) VALUES (NEW.partition, NEW.current_worker); RETURN NEW; END $$
        """,
        "CREATE TRIGGER work_audit AFTER UPDATE ON work_items FOR EACH ROW EXECUTE FUNCTION audit_work()",
        "CREATE TABLE group_audit (group_name text, worker text, epoch bigint, at timestamptz DEFAULT clock_timestamp())",
        """
        CREATE FUNCTION audit_group() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO group_audit (group_name, worker, epoch) VALUES (NEW.group_name, NEW.worker, NEW.epoch); RETURN NEW; END $$
        """,
        "CREATE TRIGGER group_audit AFTER INSERT OR UPDATE ON kafka_group_owners FOR EACH ROW EXECUTE FUNCTION audit_group()",
    ]

    // MARK: processes

    /// Starts the control plane; `extra` adds or replaces environment variables (POOLS_FILE, say).
    func startControlPlane(_ extra: [String: String] = [:]) async throws {
        let port = try RedisServerProcess.freePort()
        controlPlaneURL = "http://127.0.0.1:\(port)"
        controlPlane = try ChildProcess(
            name: "control-plane", executable: "control-plane",
            environment: [
                "PORT": "\(port)", "HOST": "127.0.0.1", "REDIS_URL": try TestServers.requireRedisURL(), "REDIS_KEY_PREFIX": redisPrefix,
                "LEASE_TTL": "\(Self.leaseTTL.wholeMilliseconds)ms",
                "HEARTBEAT_INTERVAL": "\(Self.heartbeatInterval.wholeMilliseconds)ms", "NUMBER_QUARANTINE": "500ms",
                "PARTITIONS": "\(Self.partitionCount)",
            ].merging(extra) { $1 }, logDirectory: logDirectory)
        try await TestSupport.eventually("the control plane is ready", within: .seconds(20)) {
            try await self.get(self.controlPlaneURL + "/readyz").status == 200
        }
    }

    func startWorker(_ name: String, databaseURL: String? = nil, environment extra: [String: String] = [:]) throws {
        let port = try RedisServerProcess.freePort()
        let process = try ChildProcess(
            name: name, executable: "worker",
            environment: [
                "POD_NAME": name, "PORT": "\(port)", "HOST": "127.0.0.1", "CONTROL_PLANE_URL": controlPlaneURL,
                "DATABASE_URL": databaseURL ?? self.databaseURL, "WORK_INTERVAL": "250ms",
            ].merging(extra) { $1 }, logDirectory: logDirectory)
        workers[name] = (process, "http://127.0.0.1:\(port)")
    }

    func worker(_ name: String) -> ChildProcess { workers[name]!.process }

    /// The base URL of a worker's HTTP server.
    func workerURL(_ name: String) -> String { workers[name]!.url }

    /// `url` with `hosts` after its host (`postgres://u:p@h1:1/db` -> `postgres://u:p@h1:1,h2:2/db`).
    static func adding(_ hosts: [String], to url: String) -> String {
        guard !hosts.isEmpty, let at = url.lastIndex(of: "@"), let slash = url[at...].firstIndex(of: "/") else { return url }
        return String(url[..<slash]) + "," + hosts.joined(separator: ",") + String(url[slash...])
    }

    /// Deletes every Redis key of this installation, as a Redis restart without persistence would.
    func wipeRedis() async throws {
        let redis = RedisPool(configuration: try RedisConfiguration(url: try TestServers.requireRedisURL(), poolSize: 1))
        do {
            if case .array(let keys) = try await redis.command(["KEYS", redisPrefix + "*"], retry: .never), !keys.isEmpty {
                _ = try await redis.command(["DEL"] + keys.compactMap(\.string), retry: .never)
            }
        } catch {
            await redis.shutdown()
            throw error
        }
        await redis.shutdown()
    }

    private func tearDown() async {
        for (_, worker) in workers { worker.process.stop() }
        controlPlane?.stop()
        await database.shutdown()
        await testDatabase.drop()
    }

    func printLogs() {
        for process in [controlPlane].compactMap({ $0 }) + workers.values.map(\.process) {
            print("--- \(process.name) (\(process.logPath))\n\(process.logTail())")
        }
    }

    // MARK: observations

    /// partition -> worker, from `partition_owners`.
    func owners() async throws -> [Int: String] {
        let rows = try await database.query("SELECT partition, worker FROM partition_owners")
        return Dictionary(
            uniqueKeysWithValues: try rows.map { row throws(PostgresError) in
                (try row.decode(Int.self, at: 0), try row.decode(String.self, at: 1))
            })
    }

    /// One claim row: who claimed the partition, under which grant epoch, and when (ms since 1970,
    /// PostgreSQL's clock, the same host clock Redis's TIME reads).
    struct ClaimRow: Equatable {
        var worker: String
        var epoch: Int64
        var claimedAtMillis: Int64
    }

    /// partition -> its claim row, from `partition_owners`.
    func claimRows() async throws -> [Int: ClaimRow] {
        let rows = try await database.query(
            "SELECT partition, worker, epoch, (extract(epoch FROM claimed_at) * 1000)::bigint FROM partition_owners")
        return Dictionary(
            uniqueKeysWithValues: try rows.map { row throws(PostgresError) in
                (
                    try row.decode(Int.self, at: 0),
                    ClaimRow(
                        worker: try row.decode(String.self, at: 1), epoch: Int64(try row.decode(Int.self, at: 2)),
                        claimedAtMillis: Int64(try row.decode(Int.self, at: 3)))
                )
            })
    }

    /// The live leases the control plane lists (`GET /v1/workers`), by name.
    func leases() async throws -> [String: WorkerSummary] {
        let response = try await get(controlPlaneURL + "/v1/workers")
        let list = try JSONDecoder().decode(WorkerList.self, from: response.body)
        return Dictionary(uniqueKeysWithValues: list.workers.map { ($0.name, $0) })
    }

    /// How many partitions each worker owns in `partition_owners`.
    func ownerCounts() async throws -> [String: Int] {
        try await owners().values.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    /// Whether every partition is owned in Postgres by exactly the live workers named, as the control plane assigns them.
    func isSettled(on names: Set<String>) async throws -> Bool {
        let owners = try await owners()
        guard owners.count == Self.partitionCount, Set(owners.values) == names else { return false }
        for name in names {
            guard let status = try await status(name), status.safe, status.claimedCount == status.grantedCount else { return false }
        }
        return true
    }

    func status(_ name: String) async throws -> WorkerStatus? {
        let response = try await get(workers[name]!.url + "/v1/status")
        return response.status == 200 ? try JSONDecoder().decode(WorkerStatus.self, from: response.body) : nil
    }

    /// Writes to work items by a worker that was not the partition's owner at that moment, and Kafka
    /// receipts written under a lease that was not the group's newest claim at that moment (at most 10 each).
    func violations() async throws -> [String] {
        try await workViolations() + receiptViolations()
    }

    func receiptViolations() async throws -> [String] {
        let rows = try await database.query(
            """
            SELECT r.group_name, r.worker, r.epoch, r.received_at::text, o.worker, o.epoch FROM kafka_receipts r
            LEFT JOIN LATERAL (SELECT worker, epoch FROM group_audit a WHERE a.group_name = r.group_name AND a.at < r.received_at
                               ORDER BY a.at DESC LIMIT 1) o ON true
            WHERE (r.worker, r.epoch) IS DISTINCT FROM (o.worker, o.epoch) LIMIT 10
            """)
        return try rows.map { row throws(PostgresError) in
            "receipt in \(try row.decode(String.self, at: 0)) by \(try row.decode(String.self, at: 1)) epoch \(try row.decode(Int.self, at: 2)) at \(try row.decode(String.self, at: 3)), group claimed by \(try row.decode(String?.self, at: 4) ?? "none") epoch \(try row.decode(Int?.self, at: 5).map(String.init) ?? "none")"
        }
    }

    private func workViolations() async throws -> [String] {
        let rows = try await database.query(
            """
            SELECT w.partition, w.worker, w.at::text, o.owner FROM work_audit w
            LEFT JOIN LATERAL (SELECT worker AS owner FROM owner_audit a WHERE a.partition = w.partition AND a.at < w.at
                               ORDER BY a.at DESC LIMIT 1) o ON true
            WHERE w.worker IS DISTINCT FROM o.owner LIMIT 10
            """)
        return try rows.map { row throws(PostgresError) in
            "partition \(try row.decode(Int.self, at: 0)) by \(try row.decode(String.self, at: 1)) at \(try row.decode(String.self, at: 2)), owner \(try row.decode(String?.self, at: 3) ?? "none")"
        }
    }

    func get(_ url: String) async throws -> (status: Int, body: Data) { try await request(.GET, url) }

    func request(_ method: HTTPMethod, _ url: String, json: String? = nil) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 22)
        return (Int(response.status.code), Data(body.readableBytesView))
    }

}
