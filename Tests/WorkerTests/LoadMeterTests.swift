import Coordination
import TestSupport
import Testing

@testable import Worker

/// The rows per second a worker reports for a pool balanced by load.
struct LoadMeterTests {
    @Test("a report gives each held partition its rows per second since the last report, then counting starts over")
    func rates() throws {
        let clock = ManualClock()
        var meter = LoadMeter<ManualClock>(now: clock.now)
        meter.add([1: 30, 2: 10])
        meter.add([1: 10, 9: 5])
        clock.advance(by: .seconds(2))
        let first = meter.report(held: [2, 1, 4], now: clock.now)
        let report = try #require(first)
        #expect(report.partitions == [1, 2, 4], "ascending; a held partition without rows reports 0")
        #expect(report.rowsPerSecond == [20, 5, 0] && report.rowsWaiting == [0, 0, 0])
        let again = meter.report(held: [1], now: clock.now)
        #expect(again == nil, "no time passed since the last report")
        clock.advance(by: .milliseconds(500))
        meter.add([1: 4])
        let later = meter.report(held: [1], now: clock.now)
        #expect(later?.rowsPerSecond == [8], "counted from the last report only")
    }
}
