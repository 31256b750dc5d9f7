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

struct WorkerNameTests {
    @Test("names are 1-253 characters of [a-z0-9.-]", arguments: ["pod-a", "a", "worker-7d9f-x.z", String(repeating: "a", count: 253)])
    func valid(name: String) { #expect(WorkerName(rawValue: name) != nil) }

    @Test(
        "anything else is refused",
        arguments: ["", "Pod-A", "pod_a", "pod a", "pöd", "pod/a", String(repeating: "a", count: 254), "a\u{0}"])
    func invalid(name: String) { #expect(WorkerName(rawValue: name) == nil) }

}

struct ConsumerGroupTests {
    @Test("a number's consumer group is prefix-number; the stem is what the heartbeat script puts before the number")
    func names() {
        #expect(ConsumerGroup.name(prefix: "inbox", number: 2) == "inbox-2")
        #expect(ConsumerGroup.stem(prefix: "orders.v2") + "17" == ConsumerGroup.name(prefix: "orders.v2", number: 17))
    }

    @Test("prefixes are 1-64 of [A-Za-z0-9._-]", arguments: ["inbox", "Orders_v2.x-1", String(repeating: "a", count: 64)])
    func validPrefix(prefix: String) { #expect(ConsumerGroup.isValidPrefix(prefix)) }

    @Test("anything else is refused", arguments: ["", "a b", "in%dbox", "ïnbox", String(repeating: "a", count: 65)])
    func invalidPrefix(prefix: String) { #expect(!ConsumerGroup.isValidPrefix(prefix)) }
}

struct WorkerNumberTests {
    @Test("numbers are 0...1023, the Snowflake layout's 10 bits, and integers on the wire")
    func range() throws {
        #expect(WorkerNumber.range == 0...1023)
        #expect(WorkerNumber(rawValue: 1024) == nil && WorkerNumber(rawValue: -1) == nil)
        #expect(try JSONDecoder().decode(WorkerNumber.self, from: Data("1023".utf8)) == 1023)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(WorkerNumber.self, from: Data("1024".utf8)) }
        #expect(String(decoding: try JSONEncoder().encode(WorkerNumber(7)), as: UTF8.self) == "7")
    }
}
