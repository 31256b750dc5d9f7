/// The body of `GET /readyz` when ready: which Redis node is the primary and how many replicas follow it.
struct ReadinessReport: Codable, Hashable, Sendable {
    struct Redis: Codable, Hashable, Sendable {
        /// `host:port` of the node this replica uses as the primary (its ROLE said so).
        var primary: String
        /// Replicas connected to it, as its ROLE lists them.
        var connectedReplicas: Int
        /// REDIS_MIN_REPLICAS: how many must acknowledge each change.
        var minReplicas: Int
    }

    var status: String
    var redis: Redis
}
