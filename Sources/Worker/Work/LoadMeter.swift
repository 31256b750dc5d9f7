import Coordination

/// Rows done per partition since the last report, and the report a pool balanced by load is sent:
/// each held partition's rows per second over the time since the previous report. Pure: the work loop
/// adds what each transaction touched and asks for a report every `loadReportInterval`.
struct LoadMeter<C: Clock> where C.Duration == Duration {
    private var rows: [Partition: Int] = [:]
    private var since: C.Instant

    init(now: C.Instant) { since = now }

    mutating func add(_ rowsByPartition: [Partition: Int]) { rows.merge(rowsByPartition, uniquingKeysWith: +) }

    /// The report for `held` at `now` (rows per second since the last report; no rows waiting: the
    /// demo inbox's rows are all worked every round), then counting starts over. Nil when no time passed.
    mutating func report(held: [Partition], now: C.Instant) -> PartitionLoadReport? {
        let elapsed = since.duration(to: now)
        guard elapsed > .zero else { return nil }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let partitions = held.sorted()
        defer {
            rows = [:]
            since = now
        }
        return PartitionLoadReport(
            partitions: partitions, rowsWaiting: partitions.map { _ in 0 },
            rowsPerSecond: partitions.map { Double(rows[$0] ?? 0) / seconds })
    }
}
