/// `POST /v1/workers/{name}/heartbeat` body. Only `instance` is required; a client should send
/// `sequence` (without it a late or duplicated request is not recognised) and, while its lease is
/// safe, what it believes it holds (`number`, `epoch`, `heldEpochs`, `generation`), so a store that
/// lost its state can give it back instead of handing it to another worker.
public struct HeartbeatRequest: Codable, Hashable, Sendable {
    /// The random id the worker process made at start.
    public var instance: InstanceID
    /// Grows with every request of this instance (1, 2, …). A request whose sequence is not above the
    /// last one applied is refused (409 `stale_request`) and changes nothing.
    public var sequence: Int64?
    /// Partitions the worker is still processing; a revoked partition is handed on once it is gone from here.
    public var held: [Partition]?
    /// The grant epoch of each partition in `held`, in the same order.
    public var heldEpochs: [Epoch]?
    /// The number the worker believes it holds, sent only while its lease is safe.
    public var number: WorkerNumber?
    /// The epoch the worker believes it holds, sent only while its lease is safe.
    public var epoch: Epoch?
    /// The lease store's generation from the last answer.
    public var generation: Generation?
    /// What the lease is for; a partition worker when absent.
    public var kind: LeaseKind?
    /// The load of the partitions it processes, for a pool balanced by load (ignored by one balanced by
    /// count). Sent now and then, not with every heartbeat.
    public var load: PartitionLoadReport?

    public init(
        instance: InstanceID, sequence: Int64? = nil, held: [Partition]? = nil, heldEpochs: [Epoch]? = nil, number: WorkerNumber? = nil,
        epoch: Epoch? = nil, generation: Generation? = nil, kind: LeaseKind? = nil, load: PartitionLoadReport? = nil
    ) {
        self.instance = instance
        self.sequence = sequence
        self.held = held
        self.heldEpochs = heldEpochs
        self.number = number
        self.epoch = epoch
        self.generation = generation
        self.kind = kind
        self.load = load
    }
}

/// A worker's measure of its partitions' load: per partition, the rows waiting and the rows done per
/// second lately (three arrays in the same order). A pool balanced by load weighs a partition as its
/// rate plus its backlog drained within the pool's `backlogSeconds`.
public struct PartitionLoadReport: Codable, Hashable, Sendable {
    public var partitions: [Partition]
    public var rowsWaiting: [Int64]
    public var rowsPerSecond: [Double]

    public init(partitions: [Partition], rowsWaiting: [Int64], rowsPerSecond: [Double]) {
        self.partitions = partitions
        self.rowsWaiting = rowsWaiting
        self.rowsPerSecond = rowsPerSecond
    }
}

/// The grant a heartbeat returns.
public struct HeartbeatResponse: Codable, Hashable, Sendable {
    public var name: String
    public var instance: InstanceID
    public var number: WorkerNumber
    public var epoch: Epoch
    public var leaseTTLMillis: Int64
    public var heartbeatIntervalMillis: Int64
    /// The version of the layout the grants were settled against.
    public var layoutVersion: Int64
    /// Partitions granted: the worker may process these now.
    public var partitions: [Partition]
    /// The fencing epoch of each grant in `partitions`, in the same order: a fresh epoch from the lease
    /// store each time a partition is granted, so it grows with every handoff of that partition.
    /// Claims in Postgres use it. Nil only from control planes older than this field.
    public var partitionEpochs: [Epoch]?
    /// Partitions revoked: the worker must stop these now and stop reporting them held.
    public var revoked: [Partition]
    public var consumerGroup: String
    public var partitionCount: Int
    /// The lease store's generation; the worker sends it back. Nil only from older control planes.
    public var generation: Generation?
    /// What the lease is for. Nil only from older control planes (a partition worker).
    public var kind: LeaseKind?

    public init(
        name: String, instance: InstanceID, number: WorkerNumber, epoch: Epoch, leaseTTLMillis: Int64, heartbeatIntervalMillis: Int64,
        layoutVersion: Int64, partitions: [Partition], partitionEpochs: [Epoch]?, revoked: [Partition], consumerGroup: String,
        partitionCount: Int, generation: Generation? = nil, kind: LeaseKind? = nil
    ) {
        self.name = name
        self.instance = instance
        self.number = number
        self.epoch = epoch
        self.leaseTTLMillis = leaseTTLMillis
        self.heartbeatIntervalMillis = heartbeatIntervalMillis
        self.layoutVersion = layoutVersion
        self.partitions = partitions
        self.partitionEpochs = partitionEpochs
        self.revoked = revoked
        self.consumerGroup = consumerGroup
        self.partitionCount = partitionCount
        self.generation = generation
        self.kind = kind
    }
}

/// `GET /v1/layout`: the published layout; `owners[p]` is the number owning partition `p`, or nil.
public struct PublishedLayout: Codable, Hashable, Sendable {
    /// 0 before the first publication.
    public var version: Int64
    public var partitionCount: Int
    public var members: [WorkerNumber]
    public var owners: [WorkerNumber?]

    public init(version: Int64, partitionCount: Int, members: [WorkerNumber], owners: [WorkerNumber?]) {
        self.version = version
        self.partitionCount = partitionCount
        self.members = members
        self.owners = owners
    }
}

/// One live worker, as `GET /v1/workers` lists it.
public struct WorkerSummary: Codable, Hashable, Sendable {
    public var name: String
    public var number: WorkerNumber
    public var epoch: Epoch
    public var instance: InstanceID
    /// ISO 8601, on the lease store's clock.
    public var expiresAt: String
    /// How many partitions the worker holds a grant on (`partitions` on the wire).
    public var grantCount: Int
    public var consumerGroup: String
    /// What the lease is for.
    public var kind: LeaseKind

    public init(
        name: String, number: WorkerNumber, epoch: Epoch, instance: InstanceID, expiresAt: String, grantCount: Int, consumerGroup: String,
        kind: LeaseKind = .member
    ) {
        self.name = name
        self.number = number
        self.epoch = epoch
        self.instance = instance
        self.expiresAt = expiresAt
        self.grantCount = grantCount
        self.consumerGroup = consumerGroup
        self.kind = kind
    }

    private enum CodingKeys: String, CodingKey {
        case name, number, epoch, instance, expiresAt
        case grantCount = "partitions"
        case consumerGroup, kind
    }

    /// A summary from a control plane older than lease kinds is a partition worker's.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        number = try container.decode(WorkerNumber.self, forKey: .number)
        epoch = try container.decode(Epoch.self, forKey: .epoch)
        instance = try container.decode(InstanceID.self, forKey: .instance)
        expiresAt = try container.decode(String.self, forKey: .expiresAt)
        grantCount = try container.decode(Int.self, forKey: .grantCount)
        consumerGroup = try container.decode(String.self, forKey: .consumerGroup)
        kind = try container.decodeIfPresent(LeaseKind.self, forKey: .kind) ?? .member
    }
}

/// `GET /v1/workers`.
public struct WorkerList: Codable, Hashable, Sendable {
    public var workers: [WorkerSummary]

    public init(workers: [WorkerSummary]) { self.workers = workers }
}

/// Every error response: `{"error": code, "message": text}`.
public struct ErrorBody: Codable, Hashable, Sendable {
    /// A stable, machine-readable code such as `conflict` or `invalid_name`.
    public var error: String
    /// What went wrong, for a person.
    public var message: String

    public init(error: String, message: String) {
        self.error = error
        self.message = message
    }
}
