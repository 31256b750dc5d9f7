/// The body of `GET /v1/pools`: every pool the control plane serves, with its settings and live counts.
public struct PoolList: Codable, Hashable, Sendable {
    public var pools: [PoolSummary]
    /// How pools are made on first use; absent when they are not.
    public var autoCreate: AutoCreate?

    public init(pools: [PoolSummary], autoCreate: AutoCreate?) {
        self.pools = pools
        self.autoCreate = autoCreate
    }

    /// The `autoCreate` settings, and how many pools were made so.
    public struct AutoCreate: Codable, Hashable, Sendable {
        public var maxPools: Int
        public var made: Int

        public init(maxPools: Int, made: Int) {
            self.maxPools = maxPools
            self.made = made
        }
    }
}

/// One pool in `GET /v1/pools`.
public struct PoolSummary: Codable, Hashable, Sendable {
    public var name: PoolName
    /// 0: a pool of numbers only.
    public var partitions: Int
    public var maxWorkers: Int
    public var leaseTTLMillis: Int64
    public var heartbeatIntervalMillis: Int64
    public var numberQuarantineMillis: Int64
    public var consumerGroupPrefix: String
    /// Declared in POOLS_FILE (or the default pool without one); false for a pool made on first use.
    public var declared: Bool
    /// True while a changed declaration waits for the pool to have no live lease (its partition count).
    public var settingsPending: Bool
    /// Live leases, number-only ones included.
    public var liveWorkers: Int
    /// The published layout's version; 0 before the first (and always for a pool of numbers only).
    public var layoutVersion: Int64
    /// What its layout is balanced by: `count` or `load`. Nil from control planes older than the field.
    public var balance: String?

    public init(
        name: PoolName, partitions: Int, maxWorkers: Int, leaseTTLMillis: Int64, heartbeatIntervalMillis: Int64,
        numberQuarantineMillis: Int64, consumerGroupPrefix: String, declared: Bool, settingsPending: Bool, liveWorkers: Int,
        layoutVersion: Int64, balance: String? = nil
    ) {
        self.name = name
        self.partitions = partitions
        self.maxWorkers = maxWorkers
        self.leaseTTLMillis = leaseTTLMillis
        self.heartbeatIntervalMillis = heartbeatIntervalMillis
        self.numberQuarantineMillis = numberQuarantineMillis
        self.consumerGroupPrefix = consumerGroupPrefix
        self.declared = declared
        self.settingsPending = settingsPending
        self.liveWorkers = liveWorkers
        self.layoutVersion = layoutVersion
        self.balance = balance
    }
}
