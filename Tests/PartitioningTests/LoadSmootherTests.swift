import Foundation
import Partitioning
import TestSupport
import Testing

/// Smoothed partition weights and their deviations, from reports alone.
struct LoadSmootherTests {
    @Test("a partition's first report is its weight, later ones move it by the smoothing, and unreported partitions keep theirs")
    func smoothing() {
        var smoother = LoadSmoother(partitionCount: 3, smoothing: 0.2)
        smoother.fold([0: 10, 1: 4, 7: 99])
        #expect(smoother.weights == [10, 4, 0])
        smoother.fold([0: 20])
        #expect(smoother.weights == [12, 4, 0])
        #expect(smoother.deviations == [12, 4, 0], "until measured, a reported weight deviates by itself; an unreported one by nothing")
    }

    @Test("steady reports have no deviation")
    func steady() {
        var smoother = LoadSmoother(partitionCount: 1)
        for _ in 0..<50 { smoother.fold([0: 7]) }
        #expect(smoother.weights == [7])
        #expect(smoother.deviations == [0])
    }

    @Test(
        "the deviation of a weight matches how far the weight really strays from the truth, at the start and once settled",
        arguments: [0.2, 0.5])
    func deviationMatchesTheSpread(smoothing: Double) {
        // 4,000 partitions with the same truth and independent ±20 % reports: the spread of their weights
        // across partitions is the weight's real deviation; each partition's own estimate should match it.
        let count = 4000
        var smoother = LoadSmoother(partitionCount: count, smoothing: smoothing)
        var generator = SplitMix64(seed: 3)
        for reports in 1...60 {
            smoother.fold(Dictionary(uniqueKeysWithValues: (0..<count).map { ($0, 100 * Double.random(in: 0.8...1.2, using: &generator)) }))
            guard [LoadSmoother.measuredAfter, 8, 60].contains(reports) else { continue }
            let weights = smoother.weights
            let real = (weights.map { ($0 - 100) * ($0 - 100) }.reduce(0, +) / Double(count)).squareRoot()
            let estimated = smoother.deviations.reduce(0, +) / Double(count)
            #expect(abs(estimated / real - 1) < 0.2, "after \(reports) reports: estimated \(estimated), real \(real)")
        }
    }
}
