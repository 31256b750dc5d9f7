import RedisAdapter

/// `GET /readyz` of a replica (not of a pool): whether Redis answers as a primary with at least
/// REDIS_MIN_REPLICAS replicas connected.
struct ReadinessCheck: Sendable {
    let redis: RedisPool
    let metrics: ControlPlaneMetrics

    func check() async throws(LeaseRefusal) -> ReadinessReport {
        let status: RedisReplicationStatus
        let start = ContinuousClock.now
        do {
            status = try await redis.replicationStatus()
        } catch {
            throw .storeUnavailable("Redis is unreachable: \(error)")
        }
        metrics.redisLatency.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
        metrics.replicasConnected.record(status.connectedReplicas)
        let required = redis.configuration.minReplicas
        guard status.connectedReplicas >= required else {
            throw .notReplicated(
                "the Redis primary \(status.primary) has \(status.connectedReplicas) replicas connected; REDIS_MIN_REPLICAS is \(required)")
        }
        return ReadinessReport(
            status: "ready", redis: .init(primary: status.primary, connectedReplicas: status.connectedReplicas, minReplicas: required))
    }
}
