/// `GET /v1/overview`: everything the status page (`/_status`) draws, read from the lease store in one
/// script run, so every part describes the same moment. Times are milliseconds on the lease store's
/// clock (Redis `TIME`), the one clock leases are measured on.
public struct Overview: Codable, Hashable, Sendable {
    /// The lease store's clock when the report was read (Unix ms).
    public var nowMillis: Int64
    public var leaseTTLMillis: Int64
    public var heartbeatIntervalMillis: Int64
    public var redis: RedisHealth
    /// Every live lease, by number.
    public var workers: [Worker]
    /// Numbers released or expired that are not leased again before their quarantine ends, soonest first.
    public var quarantine: [QuarantinedNumber]
    public var layout: PartitionMap
    public var handoffs: Handoffs
    /// The newest first.
    public var events: [Event]
    /// The pool's reported load and the workers it needs, for a pool that stores load reports
    /// (`balance: load` or `targetLoadPerWorker`); nil otherwise.
    public var fleet: FleetSize?

    public init(
        nowMillis: Int64, leaseTTLMillis: Int64, heartbeatIntervalMillis: Int64, redis: RedisHealth, workers: [Worker],
        quarantine: [QuarantinedNumber], layout: PartitionMap, handoffs: Handoffs, events: [Event], fleet: FleetSize? = nil
    ) {
        self.nowMillis = nowMillis
        self.leaseTTLMillis = leaseTTLMillis
        self.heartbeatIntervalMillis = heartbeatIntervalMillis
        self.redis = redis
        self.workers = workers
        self.quarantine = quarantine
        self.layout = layout
        self.handoffs = handoffs
        self.events = events
        self.fleet = fleet
    }

    /// The lease store as this replica sees it.
    public struct RedisHealth: Codable, Hashable, Sendable {
        /// The primary's address.
        public var primary: String
        public var connectedReplicas: Int
        /// REDIS_MIN_REPLICAS.
        public var minReplicas: Int
        /// How long this report's read took, one round trip plus the script.
        public var latencyMillis: Double
        /// `run_id:µs` of the Redis process that wrote the lease state; empty before the first heartbeat.
        public var generation: Generation
        /// How much longer lost state is waited out (no new number or grant before then); 0 when none is.
        public var recoveryMillisLeft: Int64

        public init(
            primary: String, connectedReplicas: Int, minReplicas: Int, latencyMillis: Double, generation: Generation,
            recoveryMillisLeft: Int64
        ) {
            self.primary = primary
            self.connectedReplicas = connectedReplicas
            self.minReplicas = minReplicas
            self.latencyMillis = latencyMillis
            self.generation = generation
            self.recoveryMillisLeft = recoveryMillisLeft
        }
    }

    /// One live lease.
    public struct Worker: Codable, Hashable, Sendable {
        public var name: String
        public var number: WorkerNumber
        public var kind: LeaseKind
        public var epoch: Epoch
        public var instance: InstanceID
        /// Until the lease expires unless renewed; can be a little below 0 until the reaper's next round.
        public var leaseMillisLeft: Int64
        /// Partitions granted at its last heartbeat (`partitions` on the wire).
        public var grantCount: Int
        /// Partitions it still holds that the published layout gives another number (revoked, not yet let go).
        public var revokedHeld: Int
        public var consumerGroup: String
        /// The latest reported loads of the partitions it holds, in a pool that stores load reports.
        public var load: Double?

        public init(
            name: String, number: WorkerNumber, kind: LeaseKind, epoch: Epoch, instance: InstanceID, leaseMillisLeft: Int64,
            grantCount: Int,
            revokedHeld: Int, consumerGroup: String, load: Double? = nil
        ) {
            self.name = name
            self.number = number
            self.kind = kind
            self.epoch = epoch
            self.instance = instance
            self.leaseMillisLeft = leaseMillisLeft
            self.grantCount = grantCount
            self.revokedHeld = revokedHeld
            self.consumerGroup = consumerGroup
            self.load = load
        }

        private enum CodingKeys: String, CodingKey {
            case name, number, kind, epoch, instance, leaseMillisLeft
            case grantCount = "partitions"
            case revokedHeld, consumerGroup, load
        }
    }

    public struct QuarantinedNumber: Codable, Hashable, Sendable {
        public var number: WorkerNumber
        public var millisLeft: Int64

        public init(number: WorkerNumber, millisLeft: Int64) {
            self.number = number
            self.millisLeft = millisLeft
        }
    }

    /// The published layout beside the grants: `owners[p]` is the number the layout gives partition `p`,
    /// `holders[p]` the number granted it now (nil: nobody may process it). They differ while it moves.
    public struct PartitionMap: Codable, Hashable, Sendable {
        /// 0 before the first publication.
        public var version: Int64
        public var partitionCount: Int
        public var owners: [WorkerNumber?]
        public var holders: [WorkerNumber?]

        public init(version: Int64, partitionCount: Int, owners: [WorkerNumber?], holders: [WorkerNumber?]) {
            self.version = version
            self.partitionCount = partitionCount
            self.owners = owners
            self.holders = holders
        }
    }

    /// Partitions whose owner in the layout does not hold their grant yet (`rollcall_handoffs_pending`).
    public struct Handoffs: Codable, Hashable, Sendable {
        public var pending: Int
        /// Partitions no live worker holds a grant on (`rollcall_partitions_unowned`).
        public var unowned: Int
        /// The first pending ones, at most 100, by partition.
        public var first: [Handoff]

        public init(pending: Int, unowned: Int, first: [Handoff]) {
            self.pending = pending
            self.unowned = unowned
            self.first = first
        }
    }

    public struct Handoff: Codable, Hashable, Sendable {
        public var partition: Partition
        /// The number holding the grant (revoked, until it lets go), or nil when nobody does.
        public var from: WorkerNumber?
        /// The owner in the published layout.
        public var to: WorkerNumber

        public init(partition: Partition, from: WorkerNumber?, to: WorkerNumber) {
            self.partition = partition
            self.from = from
            self.to = to
        }
    }

    /// One entry of the lease store's event stream.
    public struct Event: Codable, Hashable, Sendable {
        /// When it happened (Unix ms, the lease store's clock).
        public var atMillis: Int64
        public var kind: Kind
        /// The lease's worker name (lease events).
        public var name: String?
        public var number: WorkerNumber?
        public var epoch: Epoch?
        public var lease: LeaseKind?
        /// The layout version published (`layout`).
        public var version: Int64?
        /// Partitions the new layout gives another owner (`layout`).
        public var moved: Int?
        /// Members of the new layout (`layout`).
        public var members: Int?
        /// ISO 8601: until when lost state is waited out (`recovery`).
        public var until: String?

        public enum Kind: String, Codable, Hashable, Sendable, CaseIterable {
            /// A new lease of a free number.
            case leased
            /// A lease the store had lost, taken back from its holder's claim.
            case adopted
            /// Released by its holder (a graceful drain).
            case released
            /// Not renewed in time.
            case expired
            /// A layout was published.
            case layout
            /// The store lost (or may have lost) writes; recovery began or was extended.
            case recovery
        }

        public init(
            atMillis: Int64, kind: Kind, name: String? = nil, number: WorkerNumber? = nil, epoch: Epoch? = nil, lease: LeaseKind? = nil,
            version: Int64? = nil, moved: Int? = nil, members: Int? = nil, until: String? = nil
        ) {
            self.atMillis = atMillis
            self.kind = kind
            self.name = name
            self.number = number
            self.epoch = epoch
            self.lease = lease
            self.version = version
            self.moved = moved
            self.members = members
            self.until = until
        }
    }
}
