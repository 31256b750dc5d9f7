import Foundation
import TestSupport
import Testing

@testable import Coordination

struct LeaseDeadlineTests {
    @Test("a lease is safe until sent + TTL * (1 - drift allowance), measured from the send")
    func safeWindow() {
        let clock = ManualClock()
        let sent = clock.now
        let deadline = LeaseDeadline<ManualClock>(sentAt: sent, leaseTTL: .seconds(10), driftAllowance: 0.1)
        #expect(deadline.safeUntil == sent.advanced(by: .seconds(9)))
        clock.advance(by: .milliseconds(8999))
        #expect(deadline.isSafe(at: clock.now))
        #expect(deadline.remaining(at: clock.now) == .milliseconds(1))
        clock.advance(by: .milliseconds(1))
        #expect(!deadline.isSafe(at: clock.now))
        #expect(deadline.remaining(at: clock.now) == .zero)
    }

    @Test("the drift allowance is clamped to 0...1")
    func clampedDrift() {
        let start = ManualClock().now
        #expect(
            LeaseDeadline<ManualClock>(sentAt: start, leaseTTL: .seconds(4), driftAllowance: -1).safeUntil
                == start.advanced(by: .seconds(4)))
        #expect(LeaseDeadline<ManualClock>(sentAt: start, leaseTTL: .seconds(4), driftAllowance: 3).safeUntil == start)
    }

    @Test("durations scale to the nanosecond and tell whole milliseconds")
    func durationMaths() {
        #expect(Duration.seconds(10).scaled(by: 0.9) == .seconds(9))
        #expect(Duration.milliseconds(1500).scaled(by: 0.5) == .milliseconds(750))
        #expect(Duration.milliseconds(1500).wholeMilliseconds == 1500)
        #expect(Duration.microseconds(2999).wholeMilliseconds == 2)
    }
}
