import Coordination
import RollcallClient
import RollcallKafka
import Testing

/// When a lease-bound consumer sits in its number's group, with no broker and no clock.
struct GroupMembershipTests {
    static func lease(number: Int, epoch: Int64 = 1) -> Lease {
        Lease(
            HeartbeatResponse(
                name: "pod-a", instance: "i1", number: WorkerNumber(rawValue: number)!, epoch: Epoch(rawValue: epoch),
                leaseTTLMillis: 10_000,
                heartbeatIntervalMillis: 1000, layoutVersion: 1, partitions: [], partitionEpochs: nil, revoked: [],
                consumerGroup: "replies-\(number)", partitionCount: 0))
    }

    static func machine() -> GroupMembership { GroupMembership(leaveMargin: .seconds(2), joinMargin: .seconds(1)) }

    @Test("a safe lease joins its number's group once; the join completes before anything is consumed")
    func joins() {
        var membership = Self.machine()
        #expect(membership.observe(nil as LeaseStatus?) == .none && membership.state == .out)
        let action = membership.observe((Self.lease(number: 3), .seconds(9)))
        guard case .join(let joined) = action else {
            Issue.record("expected a join, got \(action)")
            return
        }
        #expect(joined.group == "replies-3" && joined.instanceID == "replies-3" && joined.number == WorkerNumber(rawValue: 3))
        #expect(!membership.mayConsume, "not before the join completed")
        #expect(membership.observe((Self.lease(number: 3), .seconds(9))) == .none, "one join in flight at a time")
        membership.joined()
        #expect(membership.mayConsume && membership.observe((Self.lease(number: 3), .seconds(8))) == .none)
    }

    @Test("it does not join a lease about to run out: safe for less than leaveMargin + joinMargin")
    func noShortJoin() {
        var membership = Self.machine()
        #expect(membership.observe((Self.lease(number: 3), .milliseconds(2999))) == .none)
        #expect(membership.observe((Self.lease(number: 3), .seconds(3))) != .none)
    }

    @Test(
        "a member leaves while its lease is still safe: renewals late, lease lost, another number, another epoch",
        arguments: [
            ("late", Optional((3, Int64(1), Duration.milliseconds(1999)))),
            ("lost", nil),
            ("another number", Optional((4, Int64(1), Duration.seconds(9)))),
            ("another epoch", Optional((3, Int64(2), Duration.seconds(9)))),
        ])
    func leaves(why: String, next: (Int, Int64, Duration)?) {
        var membership = Self.machine()
        _ = membership.observe((Self.lease(number: 3), .seconds(9)))
        membership.joined()
        let action = membership.observe(next.map { (Self.lease(number: $0.0, epoch: $0.1), $0.2) })
        guard case .leave(let left) = action else {
            Issue.record("\(why): expected a leave, got \(action)")
            return
        }
        #expect(left.group == "replies-3", "\(why)")
        #expect(!membership.mayConsume, "\(why): nothing is consumed once leaving")
        // Nothing new joins before the leave completed, whatever the lease says.
        #expect(membership.observe((Self.lease(number: 4), .seconds(9))) == .none)
        membership.left()
        #expect(membership.state == .out)
        if let next, next.2 >= .seconds(3) {
            #expect(membership.observe((Self.lease(number: next.0, epoch: next.1), next.2)) != .none, "\(why): then the new lease's group")
        }
    }

    @Test("drain leaves and never joins again; a join that failed counts as left")
    func drains() {
        var membership = Self.machine()
        _ = membership.observe((Self.lease(number: 3), .seconds(9)))
        membership.left()
        #expect(membership.state == .out, "a failed join")
        _ = membership.observe((Self.lease(number: 3), .seconds(9)))
        membership.joined()
        #expect(membership.drain() != .none)
        membership.left()
        #expect(membership.observe((Self.lease(number: 3), .seconds(9))) == .none && membership.state == .out)
    }
}
