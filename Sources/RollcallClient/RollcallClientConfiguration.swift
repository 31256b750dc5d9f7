import Coordination

/// Where the control plane is and who this worker is.
public struct RollcallClientConfiguration: Sendable {
    /// The control plane's base URL, e.g. `http://127.0.0.1:8080` (no trailing slash needed).
    public var baseURL: String
    public var name: WorkerName
    /// The pool the lease is in; the `default` pool uses the routes without a pool, as before pools.
    public var pool: PoolName = .default
    /// Tells this process apart from an earlier one with the same name; random by default. The first
    /// one heartbeats are sent as (`RollcallClient.instance` says the current one).
    public var instance: InstanceID
    /// Sent as `Authorization: Bearer …` when the control plane requires it.
    public var authToken: String?
    /// A file holding the bearer token, read again whenever it changes (a Kubernetes projected
    /// service-account token, which the kubelet rotates); it takes the place of `authToken`.
    public var authTokenFile: String?
    /// The share of the lease TTL not trusted, for clock-rate differences (docs/design.md, "One clock for leases").
    public var driftAllowance: Double = 0.1
    public var backoff = Backoff()
    /// Per-heartbeat timeout; nil means the heartbeat interval (at least 250 ms).
    public var requestTimeout: Duration?
    public var releaseTimeout: Duration = .seconds(1)
    /// `.numberOnly` for a service that wants only a number (ids, a metric tag, a consumer group):
    /// it is never a member of the layout and is granted no partitions.
    public var kind: LeaseKind = .member

    public init(
        baseURL: String, name: WorkerName, instance: InstanceID = RollcallClientConfiguration.randomInstance(), authToken: String? = nil
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.name = name
        self.instance = instance
        self.authToken = authToken
    }

    /// The path of this worker's lease on the control plane: `/v1/workers/{name}`, or
    /// `/v1/pools/{pool}/workers/{name}` for a pool other than `default`.
    public var leasePath: String {
        (pool == .default ? "/v1" : "/v1/pools/\(pool)") + "/workers/\(name)"
    }

    /// 16 random hex digits.
    public static func randomInstance() -> InstanceID {
        var random = SystemRandomNumberGenerator()
        return randomInstance(using: &random)
    }

    /// 16 hex digits from `random`.
    public static func randomInstance(using random: inout some RandomNumberGenerator) -> InstanceID {
        let value = UInt64.random(in: .min ... .max, using: &random)
        let hex = String(value, radix: 16)
        return InstanceID(rawValue: String(repeating: "0", count: 16 - hex.count) + hex)
    }
}
