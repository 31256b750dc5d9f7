import Synchronization

/// The lease store generation this replica saw last (see `LeaseKey.generation`).
///
/// Sent with every heartbeat and reap, so a store that lost everything is recognised by the first
/// script any replica that had seen it runs, even before a worker asks.
final class StoreGeneration: Sendable {
    private let value = Mutex<String?>(nil)

    var current: String? { value.withLock { $0 } }

    /// Records `generation`; returns whether it differs from a generation seen before (not the first one).
    func observe(_ generation: String) -> Bool {
        value.withLock { seen in
            defer { seen = generation }
            return seen != nil && seen != generation
        }
    }
}
