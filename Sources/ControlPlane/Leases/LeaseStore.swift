import Coordination
import Foundation
import HashRing
import RedisAdapter

/// The control plane's view of Redis: every lease, number and grant change is one script call.
struct LeaseStore: Sendable {
    let redis: RedisPool
    let keys: LeaseKeys
    let settings: LeaseSettings
    let metrics: ControlPlaneMetrics

    /// Renews or grants the lease of `name` for `instance`; `held` is what the worker still processes.
    func heartbeat(name: WorkerName, instance: String, held: [Int]) async throws(RedisError) -> HeartbeatOutcome {
        let reply = try await run(
            LeaseScripts.heartbeat,
            [
                name.rawValue, instance, held.map(String.init).joined(separator: ","), String(settings.leaseTTL.wholeMilliseconds),
                String(settings.numberQuarantine.wholeMilliseconds), String(settings.maxWorkers), settings.consumerGroupPrefix,
            ])
        guard let fields = reply.array, let kind = fields.first?.string else { throw Self.unexpected(reply) }
        let expiredAt = kind == "granted" ? 7 : 2
        if fields.count > expiredAt, let expired = fields[expiredAt].integer, expired > 0 { metrics.leasesExpired.increment(by: expired) }
        switch kind {
        case "granted":
            guard fields.count == 9, let number = fields[1].integer, let epoch = fields[2].integer, let expiresAt = fields[3].integer,
                let version = fields[6].integer
            else { throw Self.unexpected(reply) }
            if fields[8].integer == 1 { metrics.leasesGranted.increment() }
            let grants = try Self.grants(fields[4])
            return .granted(
                .init(
                    number: Int(number), epoch: epoch, expiresAtMillis: expiresAt, granted: grants.map(\.partition),
                    grantEpochs: grants.map(\.epoch), revoked: Self.partitions(fields[5]), assignmentVersion: version))
        case "conflict":
            return .conflict(retryAfterMillis: fields[1].integer ?? settings.leaseTTL.wholeMilliseconds)
        case "exhausted":
            return .exhausted(retryAfterMillis: fields[1].integer ?? settings.leaseTTL.wholeMilliseconds)
        default:
            throw Self.unexpected(reply)
        }
    }

    /// Frees the number and partitions of `name` at once, if `instance` holds it.
    func release(name: WorkerName, instance: String) async throws(RedisError) -> ReleaseOutcome {
        let reply = try await run(LeaseScripts.release, [name.rawValue, instance, String(settings.numberQuarantine.wholeMilliseconds)])
        switch reply.array?.first?.string {
        case "released": return .released
        case "conflict": return .conflict
        case "unknown": return .unknown
        default: throw Self.unexpected(reply)
        }
    }

    /// Releases every lease past its expiry; returns how many.
    func reap() async throws(RedisError) -> Int {
        let reply = try await run(LeaseScripts.reap, [String(settings.numberQuarantine.wholeMilliseconds)])
        guard let count = reply.integer else { throw Self.unexpected(reply) }
        return Int(count)
    }

    /// The membership version and the numbers leased at that version, read together.
    func members() async throws(RedisError) -> (version: Int64, numbers: [Int]) {
        let reply = try await run(LeaseScripts.members, [])
        guard let values = reply.array?.compactMap(\.integer), let version = values.first else { throw Self.unexpected(reply) }
        return (version, values.dropFirst().map { Int($0) }.sorted())
    }

    /// Takes or renews the rebalancer's leader lease for `token`; true while this replica leads.
    func lead(token: String, lease: Duration) async throws(RedisError) -> Bool {
        try await run(LeaseScripts.lead, [token, String(lease.wholeMilliseconds)]).integer == 1
    }

    /// The outcome of publishing an assignment.
    enum PublishOutcome: Equatable {
        case published(version: Int64)
        /// The membership changed while the assignment was computed: compute again.
        case stale
        /// Another replica leads now.
        case notLeader
    }

    /// Publishes `ring` as the assignment for `membershipVersion`, if `token` still leads.
    func publish(_ ring: Ring, membershipVersion: Int64, token: String) async throws(RedisError) -> PublishOutcome {
        var arguments = [
            token, String(membershipVersion), ring.owners.map { $0.map(String.init) ?? "" }.joined(separator: ","),
            ring.members.map(String.init).joined(separator: ","),
        ]
        var byMember: [Int: [Int]] = [:]
        for (partition, owner) in ring.owners.enumerated() { if let owner { byMember[owner, default: []].append(partition) } }
        for member in ring.members {
            arguments += [String(member), (byMember[member] ?? []).map(String.init).joined(separator: ",")]
        }
        let reply = try await run(LeaseScripts.publish, arguments)
        switch reply.integer {
        case -1: return .stale
        case -2: return .notLeader
        case let version? where version > 0: return .published(version: version)
        default: throw Self.unexpected(reply)
        }
    }

    /// The published assignment, or version 0 with every partition unowned before the first.
    func assignment() async throws(RedisError) -> AssignmentSnapshot {
        let reply = try await command(["HMGET", keys.assignment, "version", "owners", "members"])
        guard let fields = reply.array, fields.count == 3 else { throw Self.unexpected(reply) }
        guard let version = fields[0].integer, let owners = fields[1].string else {
            return AssignmentSnapshot(
                version: 0, partitionCount: settings.partitionCount, members: [],
                owners: Array(repeating: nil, count: settings.partitionCount))
        }
        let table = owners.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        return AssignmentSnapshot(version: version, partitionCount: table.count, members: Self.partitions(fields[2]), owners: table)
    }

    /// Every live worker, as the `workers` hash lists them, by number.
    func workers() async throws(RedisError) -> [WorkerSummary] {
        var workers: [WorkerSummary] = []
        for (field, value) in try await hash(keys.workers) {
            guard let name = field.string, let json = value.bytes,
                let record = try? JSONDecoder().decode(WorkerRecord.self, from: Data(json))
            else { continue }
            workers.append(
                WorkerSummary(
                    name: name, number: record.number, epoch: Epoch(rawValue: record.epoch), instance: record.instance,
                    expiresAt: record.expiresAt, partitions: record.partitions, consumerGroup: record.consumerGroup))
        }
        return workers.sorted { $0.number < $1.number }
    }

    /// How many workers hold a lease: the fields of the `workers` hash.
    func liveWorkerCount() async throws(RedisError) -> Int {
        let reply = try await command(["HLEN", keys.workers])
        guard let count = reply.integer else { throw Self.unexpected(reply) }
        return Int(count)
    }

    /// How many partitions are granted to a number other than their target, or not granted yet.
    func pendingHandoffs(owners: [Int?]) async throws(RedisError) -> Int {
        var grants: [Int: Int] = [:]
        for (field, value) in try await hash(keys.grants) {
            if let partition = field.integer, let number = value.integer { grants[Int(partition)] = Int(number) }
        }
        return owners.enumerated().filter { partition, owner in owner != nil && grants[partition] != owner }.count
    }

    /// Whether Redis answers.
    func ping() async throws(RedisError) {
        _ = try await command(["PING"])
    }

    private func run(_ script: RedisScript, _ arguments: [String]) async throws(RedisError) -> RedisValue {
        try await timed { () async throws(RedisError) in try await redis.run(script, keys: keys.all, arguments: arguments) }
    }

    private func command(_ arguments: [String]) async throws(RedisError) -> RedisValue {
        try await timed { () async throws(RedisError) in try await redis.command(arguments) }
    }

    /// Every Redis call goes through here, so the latency histogram sees them all.
    private func timed(_ call: () async throws(RedisError) -> RedisValue) async throws(RedisError) -> RedisValue {
        let start = ContinuousClock.now
        defer { metrics.redisLatency.recordNanoseconds((ContinuousClock.now - start).nanoseconds) }
        return try await call()
    }

    /// The (field, value) pairs of the hash at `key`.
    private func hash(_ key: String) async throws(RedisError) -> [(RedisValue, RedisValue)] {
        let reply = try await command(["HGETALL", key])
        guard let fields = reply.array, fields.count % 2 == 0 else { throw Self.unexpected(reply) }
        return stride(from: 0, to: fields.count, by: 2).map { (fields[$0], fields[$0 + 1]) }
    }

    private static func partitions(_ value: RedisValue) -> [Int] {
        (value.string ?? "").split(separator: ",").compactMap { Int($0) }
    }

    /// `partition:epoch` pairs, comma-separated.
    private static func grants(_ value: RedisValue) throws(RedisError) -> [(partition: Int, epoch: Int64)] {
        var grants: [(partition: Int, epoch: Int64)] = []
        for pair in (value.string ?? "").split(separator: ",") {
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let partition = Int(parts[0]), let epoch = Int64(parts[1]) else { throw unexpected(value) }
            grants.append((partition, epoch))
        }
        return grants
    }

    private static func unexpected(_ reply: RedisValue) -> RedisError {
        .reply("unexpected reply from a Rollcall script: \(String(describing: reply).prefix(200))")
    }
}

/// One line of the `workers` hash, as the heartbeat script writes it.
struct WorkerRecord: Codable, Sendable {
    var number: Int
    var epoch: Int64
    var instance: String
    var expiresAt: String
    var partitions: Int
    var consumerGroup: String
    var ringVersion: Int64
}
