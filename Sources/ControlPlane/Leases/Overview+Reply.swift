import Coordination

extension Overview {
    /// At most this many pending handoffs are listed (all are counted).
    static let handoffListLimit = 100

    /// The overview of one overview-script read: every time as the store's clock saw it, the partitions'
    /// holders from the grants each number holds, and the handoffs counted as `rollcall_handoffs_pending` is.
    /// With `loads` (a pool that stores load reports) each worker carries the loads of what it holds.
    init(_ reply: OverviewScript.Reply, settings: LeaseSettings, redis: RedisHealth, loads: [Int: Double]? = nil, fleet: FleetSize? = nil) {
        let partitionCount = reply.owners.isEmpty ? settings.partitionCount : reply.owners.count
        let owners = reply.owners.isEmpty ? Array(repeating: nil, count: partitionCount) : reply.owners
        var holders = [WorkerNumber?](repeating: nil, count: partitionCount)
        for (number, partitions) in reply.grantedBy.sorted(by: { $0.key > $1.key }) {
            for partition in partitions where partition.rawValue < partitionCount { holders[partition.rawValue] = number }
        }
        var revokedHeld: [WorkerNumber: Int] = [:]
        var pending: [Handoff] = []
        var pendingCount = 0
        for partition in 0..<partitionCount {
            let (owner, holder) = (owners[partition], holders[partition])
            if let holder, holder != owner { revokedHeld[holder, default: 0] += 1 }
            guard let owner, holder != owner else { continue }
            pendingCount += 1
            if pending.count < Self.handoffListLimit { pending.append(Handoff(partition: Partition(partition), from: holder, to: owner)) }
        }
        var carried: [WorkerNumber: Double] = [:]
        if let loads {
            for (partition, load) in loads where partition < partitionCount {
                if let holder = holders[partition] { carried[holder, default: 0] += load }
            }
        }
        let workers = reply.workers.map { name, record in
            Worker(
                name: name, number: record.number, kind: record.kind ?? .member, epoch: record.epoch,
                instance: InstanceID(rawValue: record.instance),
                leaseMillisLeft: (reply.expiry[name] ?? reply.nowMillis) - reply.nowMillis, grantCount: record.grantCount,
                revokedHeld: revokedHeld[record.number] ?? 0, consumerGroup: record.consumerGroup,
                load: loads.map { _ in carried[record.number] ?? 0 })
        }
        self.init(
            nowMillis: reply.nowMillis, leaseTTLMillis: settings.leaseTTL.wholeMilliseconds,
            heartbeatIntervalMillis: settings.heartbeatInterval.wholeMilliseconds, redis: redis,
            workers: workers.sorted { $0.number < $1.number },
            quarantine: reply.quarantine.filter { $0.untilMillis > reply.nowMillis }.sorted { $0.untilMillis < $1.untilMillis }
                .map { QuarantinedNumber(number: $0.number, millisLeft: $0.untilMillis - reply.nowMillis) },
            layout: PartitionMap(version: reply.layoutVersion, partitionCount: partitionCount, owners: owners, holders: holders),
            handoffs: Handoffs(pending: pendingCount, unowned: holders.filter { $0 == nil }.count, first: pending),
            events: reply.events, fleet: fleet)
    }
}
