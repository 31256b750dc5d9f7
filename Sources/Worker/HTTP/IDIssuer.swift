import Coordination
import RollcallClient
import Synchronization

/// Snowflake ids from the worker's number, only while its lease is safe.
///
/// One generator per number: if the worker comes back with another number, it starts a new one; the
/// control plane's number quarantine keeps the old and new holder's timestamps apart.
final class IDIssuer: Sendable {
    private let client: RollcallClient
    private let generator = Mutex<SnowflakeGenerator<SystemMillisecondClock>?>(nil)

    init(client: RollcallClient) { self.client = client }

    enum Failure: Error {
        case leaseUnsafe
        case generator(SnowflakeError)
    }

    /// `count` ids, or `.leaseUnsafe` while the lease cannot be relied on.
    func next(count: Int) throws(Failure) -> [SnowflakeID] {
        guard let number = client.safeLease()?.number else { throw .leaseUnsafe }
        let ids: [SnowflakeID]
        do {
            let current = generator.withLock { slot in
                if let existing = slot, existing.workerNumber == number { return existing }
                let made = SnowflakeGenerator(workerNumber: number, clock: SystemMillisecondClock())
                slot = made
                return made
            }
            ids = try current.next(count: count)
        } catch {
            throw .generator(error)
        }
        // The lease may have become unsafe while we counted: never hand those ids out.
        guard client.safeLease()?.number == number else { throw .leaseUnsafe }
        return ids
    }
}
