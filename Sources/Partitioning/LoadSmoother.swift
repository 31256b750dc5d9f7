/// Partition weights for `balance: load`, smoothed from the workers' load reports, and how much each
/// smoothed weight still varies from report to report.
///
/// A weight is an exponentially weighted mean of its reports, started at the first: each new report
/// takes `smoothing` (α) of it. If reports vary independently by v around the truth, after n more
/// reports the weight varies by `v × f` with `f = c + α / (2 − α) × (1 − c)` and `c = (1 − α)^2n` (the
/// first report's share squared): the whole of v at the first report, `α / (2 − α)` of it once settled.
/// v itself is estimated from the reports: a report's squared distance from the weight before it
/// averages `v × (1 + f)`, so each distance over `1 + f` is averaged with the slower `varianceSmoothing`
/// (corrected, while few are in, for the zero the average started from). A weight's deviation is
/// `√(v × f)`. `LoadRebalance` takes the deviations to tell a member that is over its trigger from one
/// that noise put there.
///
/// Pure and clock-free: the leader folds what Redis holds once per round; a simulation folds what it
/// generates.
public struct LoadSmoother: Sendable, Hashable {
    /// How much of a new report a smoothed weight takes.
    public let smoothing: Double
    /// How much of a new squared distance the variance estimate takes (slower: it needs many reports).
    public let varianceSmoothing: Double
    /// The smoothed weight of each partition (0 until its first report).
    public private(set) var weights: [Double]
    private var partitions: [Partition]

    /// What a partition's weight carries besides its value.
    private struct Partition: Sendable, Hashable {
        /// The first report's share of the weight, squared: `(1 − α)^2n` after n more reports.
        var firstShare = 1.0
        /// The average of the squared distances (each over `1 + f`), not yet corrected for its start.
        var variance = 0.0
        /// The weight the distances have in `variance` so far, `1 − (1 − β)^n` after n distances.
        var settled = 0.0
        /// Reports folded, counted up to `measuredAfter`.
        var reports = 0
    }

    /// Reports a partition needs before its variance is estimated from them: until then its weight is
    /// taken to deviate by its whole self (a member holding it is never judged over by noise it has not
    /// measured). A leader that just took over, or a new pool, waits this many rounds to start one.
    public static let measuredAfter = 4

    public init(partitionCount: Int, smoothing: Double = 0.2, varianceSmoothing: Double = 0.1) {
        precondition(smoothing > 0 && smoothing <= 1 && varianceSmoothing > 0 && varianceSmoothing <= 1)
        self.smoothing = smoothing
        self.varianceSmoothing = varianceSmoothing
        weights = Array(repeating: 0, count: partitionCount)
        partitions = Array(repeating: Partition(), count: partitionCount)
    }

    public var partitionCount: Int { weights.count }

    /// Folds one report per listed partition (partitions outside the pool are ignored; non-finite or
    /// negative loads are the caller's to refuse). A partition's first report is its weight.
    public mutating func fold(_ reported: [Int: Double]) {
        for (partition, load) in reported where weights.indices.contains(partition) {
            var state = partitions[partition]
            state.reports = min(state.reports + 1, Self.measuredAfter)
            guard state.reports > 1 else {
                weights[partition] = load
                partitions[partition] = state
                continue
            }
            let distance = load - weights[partition]
            let scaled = distance * distance / (1 + spread(state.firstShare))
            state.variance += varianceSmoothing * (scaled - state.variance)
            state.settled += varianceSmoothing * (1 - state.settled)
            state.firstShare *= (1 - smoothing) * (1 - smoothing)
            partitions[partition] = state
            weights[partition] += smoothing * distance
        }
    }

    /// The standard deviation of each smoothed weight: 0 for a partition never reported, the weight itself
    /// for one with fewer than `measuredAfter` reports.
    public var deviations: [Double] {
        zip(weights, partitions).map { weight, state in
            guard state.reports >= Self.measuredAfter else { return weight }
            return (state.variance / state.settled * spread(state.firstShare)).squareRoot()
        }
    }

    /// f: the weight's variance over one report's, given the first report's squared share.
    private func spread(_ firstShare: Double) -> Double {
        firstShare + smoothing / (2 - smoothing) * (1 - firstShare)
    }
}
