import Coordination
import Foundation
import RedisAdapter

/// The control plane's Redis: every change of leases, numbers and grants is one lease script; the
/// reads here are the few plain commands the API and the rebalancer need. No metrics, no HTTP:
/// `LeaseService` is its one caller.
struct LeaseStore: Sendable {
    let redis: RedisPool
    let keys: LeaseKeys
    /// Partitions before the first layout is published.
    let partitionCount: Int

    /// How much longer than a lease TTL lost state is waited out: with Sentinels, the primary lease, the
    /// longest an old primary may still take writes after a majority of them named the promoted one.
    var recoveryMargin: Duration {
        redis.configuration.sentinel == nil ? .zero : redis.configuration.primaryLease
    }

    /// Runs one lease script and decodes its reply; retried after a lost connection only if the script is idempotent.
    func run<Script: LeaseScript>(_ call: Script) async throws(LeaseStoreError) -> Script.Reply where Script.Key == LeaseKey {
        try await redis.run(call, keys: keys.script)
    }

    /// One read of everything the status page shows. Sent with EVAL, not through `run`: it writes
    /// nothing, so it waits for no replica (a page that shows replication falling short must not fail
    /// for it), and at the page's poll rate the script's source costs nothing to resend.
    func overview(eventCount: Int) async throws(LeaseStoreError) -> OverviewScript.Reply {
        let script = OverviewScript(eventCount: eventCount)
        let reply = try await read(["EVAL", OverviewScript.script.source, String(keys.all.count)] + keys.all + script.arguments)
        return try OverviewScript.decode(reply)
    }

    /// The published layout, or version 0 with every partition unowned before the first.
    func layout() async throws(LeaseStoreError) -> PublishedLayout {
        let reply = try await read(["HMGET", keys[.layout], "version", "owners", "members"])
        guard let fields = reply.array, fields.count == 3 else { throw .malformed("HMGET layout", reply) }
        guard let version = fields[0].integer, let owners = fields[1].string else {
            return PublishedLayout(
                version: 0, partitionCount: partitionCount, members: [], owners: Array(repeating: nil, count: partitionCount))
        }
        let table = owners.split(separator: ",", omittingEmptySubsequences: false).map { Int($0).flatMap(WorkerNumber.init(rawValue:)) }
        let members = (fields[2].string ?? "").split(separator: ",").compactMap { Int($0).flatMap(WorkerNumber.init(rawValue:)) }
        return PublishedLayout(version: version, partitionCount: table.count, members: members, owners: table)
    }

    /// How many live leases the pool has (the `workers` hash's length) and its layout version (0 before the first).
    func counts() async throws(LeaseStoreError) -> (live: Int, layoutVersion: Int64) {
        let live = try await read(["HLEN", keys[.workers]]).integer ?? 0
        let version = try await read(["HGET", keys[.layout], "version"]).integer ?? 0
        return (Int(live), version)
    }

    /// Every live worker, as the `workers` hash lists them, by number.
    func workers() async throws(LeaseStoreError) -> [WorkerSummary] {
        var workers: [WorkerSummary] = []
        for (field, value) in try await hash(keys[.workers]) {
            guard let name = field.string, let json = value.bytes,
                let record = try? JSONDecoder().decode(WorkerRecord.self, from: Data(json))
            else { continue }
            workers.append(
                WorkerSummary(
                    name: name, number: record.number, epoch: record.epoch, instance: InstanceID(rawValue: record.instance),
                    expiresAt: record.expiresAt,
                    grantCount: record.grantCount, consumerGroup: record.consumerGroup, kind: record.kind ?? .member))
        }
        return workers.sorted { $0.number < $1.number }
    }

    /// partition -> the number holding a grant on it. Read with HSCAN, about 1,024 fields a call, not one
    /// HGETALL: at 32,768 partitions that one reply was ~10 MB of objects in the control plane every time
    /// the handoff gauge was refreshed (its RSS swung by as much), and a few milliseconds of Redis's time
    /// in one piece. A grant that changes during the scan may be seen before or after its change.
    func grants() async throws(LeaseStoreError) -> [Int: WorkerNumber] {
        var grants: [Int: WorkerNumber] = [:]
        try await scan(keys[.grants]) { field, value in
            if let partition = field.integer, let number = value.integer.flatMap({ WorkerNumber(rawValue: Int($0)) }) {
                grants[Int(partition)] = number
            }
        }
        return grants
    }

    /// partition -> the load its worker last reported (`balance: load`); read as `grants()` is.
    func loads() async throws(LeaseStoreError) -> [Int: Double] {
        var loads: [Int: Double] = [:]
        try await scan(keys[.loads]) { field, value in
            if let partition = field.integer, let load = value.string.flatMap(Double.init), load.isFinite, load >= 0 {
                loads[Int(partition)] = load
            }
        }
        return loads
    }

    /// Every (field, value) of the hash at `key`, with HSCAN about 1,024 fields a call.
    private func scan(_ key: String, _ each: (RedisValue, RedisValue) -> Void) async throws(LeaseStoreError) {
        var cursor = "0"
        repeat {
            let reply = try await read(["HSCAN", key, cursor, "COUNT", "1024"])
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let fields = parts[1].array, fields.count % 2 == 0
            else { throw .malformed("HSCAN", reply) }
            for index in stride(from: 0, to: fields.count, by: 2) { each(fields[index], fields[index + 1]) }
            cursor = next
        } while cursor != "0"
    }

    /// The primary's address and connected replicas (ROLE); fails unless the node is a primary.
    func replicationStatus() async throws(LeaseStoreError) -> RedisReplicationStatus {
        do {
            return try await redis.replicationStatus()
        } catch {
            throw .redis(error)
        }
    }

    /// A read-only command: safe to send again after a lost connection.
    private func read(_ arguments: [String]) async throws(LeaseStoreError) -> RedisValue {
        do {
            return try await redis.command(arguments, retry: .retryOnceOnConnectionLoss)
        } catch {
            throw .redis(error)
        }
    }

    /// The (field, value) pairs of the hash at `key`.
    private func hash(_ key: String) async throws(LeaseStoreError) -> [(RedisValue, RedisValue)] {
        let reply = try await read(["HGETALL", key])
        guard let fields = reply.array, fields.count % 2 == 0 else { throw .malformed("HGETALL", reply) }
        return stride(from: 0, to: fields.count, by: 2).map { (fields[$0], fields[$0 + 1]) }
    }
}
