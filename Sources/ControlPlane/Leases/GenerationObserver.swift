import Coordination
import Synchronization

/// The lease store `Generation` this replica saw last (see `LeaseKey.generation`), for the metric
/// `rollcall_store_generation_changes_total`. It decides nothing: every new generation begins
/// recovery in the scripts themselves, whichever replica sees it first.
final class GenerationObserver: Sendable {
    private let value = Mutex<Generation?>(nil)

    /// Records `generation`; returns whether it differs from a generation seen before (not the first one).
    func observe(_ generation: Generation) -> Bool {
        value.withLock { seen in
            defer { seen = generation }
            return seen != nil && seen != generation
        }
    }
}
