import Logging
import ServiceLifecycle

/// Releases expired leases even when no heartbeat arrives: a crashed worker's number and partitions
/// are freed within `interval` of its lease expiring. Every replica runs one; the script is idempotent.
struct Reaper: Service {
    let leases: LeaseService
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let expired = try await leases.reap()
                if expired > 0 { logger.info("reaped expired leases", metadata: ["count": "\(expired)"]) }
            } catch {
                logger.warning("reaper could not reach Redis", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
