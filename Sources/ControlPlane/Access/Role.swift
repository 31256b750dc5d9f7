/// What a caller may do (docs/design.md, "Who may act as whom").
enum Role: String, Sendable, Hashable, CaseIterable {
    /// Heartbeats, releases and leases a number as its own worker name only; reads like a reader.
    case worker
    /// Reads: pools, layouts, workers, overviews, plans, fleet sizes, the status page.
    case reader
    /// Everything: acts as any worker name (heartbeat, release) in any pool, and reads.
    case admin
}

/// What one request does, as far as access goes.
enum Action: Sendable, Hashable {
    /// Any `GET`: nothing changes.
    case read
    /// A heartbeat, a release or a number lease (`GET /{name}`) of `name` in `pool`: only that worker
    /// (or an admin) may.
    case actAs(pool: String, name: String)
}
