import Coordination
import TestSupport
import Testing

@testable import RollcallClient

struct LeaseStateMachineTests {
    let clock = ManualClock()
    let name = WorkerName(rawValue: "pod-a")!

    func machine() -> LeaseStateMachine<ManualClock> {
        LeaseStateMachine(name: name, instance: "i1", driftAllowance: 0.1, now: clock.now)
    }

    func response(number: WorkerNumber = 2, epoch: Int64 = 100, partitions: [Partition: Int64] = [:], revoked: [Partition] = [])
        -> HeartbeatResponse
    {
        let sorted = partitions.keys.sorted()
        return HeartbeatResponse(
            name: "pod-a", instance: "i1", number: number, epoch: Epoch(rawValue: epoch), leaseTTLMillis: 10_000,
            heartbeatIntervalMillis: 1000, layoutVersion: 1, partitions: sorted,
            partitionEpochs: sorted.map { Epoch(rawValue: partitions[$0]!) }, revoked: revoked, consumerGroup: "inbox-\(number)",
            partitionCount: 16)
    }

    func grant(_ partition: Partition, _ epoch: Int64) -> PartitionGrant {
        PartitionGrant(partition: partition, epoch: Epoch(rawValue: epoch))
    }

    @Test("the first grant acquires the lease and grants its partitions; the next heartbeat is one interval after sending")
    func firstGrant() throws {
        var machine = machine()
        let sent = clock.now
        clock.advance(by: .milliseconds(30))
        let events = try machine.succeeded(response(partitions: [3: 101, 5: 101]), sentAt: sent, now: clock.now)
        #expect(events == [.leaseAcquired(Lease(response(partitions: [3: 101, 5: 101]))), .granted([grant(3, 101), grant(5, 101)])])
        #expect(
            machine.nextRequest(at: clock.now)
                == HeartbeatRequest(
                    instance: "i1", sequence: 1, held: [3, 5], heldEpochs: [Epoch(rawValue: 101), Epoch(rawValue: 101)], number: 2,
                    epoch: Epoch(rawValue: 100), kind: .member))
        #expect(machine.nextHeartbeat == sent.advanced(by: .seconds(1)))
    }

    @Test("a load report rides on the next heartbeat once; a newer report replaces one not sent yet")
    func loadRidesOnce() throws {
        var machine = machine()
        #expect(machine.nextRequest(at: clock.now).load == nil)
        let old = PartitionLoadReport(partitions: [3], rowsWaiting: [10], rowsPerSecond: [1])
        let new = PartitionLoadReport(partitions: [3, 5], rowsWaiting: [0, 7], rowsPerSecond: [2.5, 0])
        machine.report(load: old)
        machine.report(load: new)
        #expect(machine.nextRequest(at: clock.now).load == new)
        #expect(machine.nextRequest(at: clock.now).load == nil, "sent once")
        #expect(machine.pendingLoad == nil)
    }

    @Test("the lease is safe until sent + TTL * (1 - drift), measured from sending, and then lost with its grants")
    func selfFencing() throws {
        var machine = machine()
        let sent = clock.now
        clock.advance(by: .seconds(2))  // a slow answer does not extend the lease
        _ = try machine.succeeded(response(partitions: [1: 101]), sentAt: sent, now: clock.now)
        clock.advance(by: .milliseconds(6999))
        #expect(machine.safeLease(at: clock.now) != nil)
        #expect(machine.expire(at: clock.now).isEmpty)
        clock.advance(by: .milliseconds(1))
        #expect(machine.safeLease(at: clock.now) == nil)
        #expect(machine.expire(at: clock.now) == [.leaseLost(.expired)])
        let request = machine.nextRequest(at: clock.now)
        #expect(request.held == [], "a lost lease reports nothing held")
        #expect(request.number == nil && request.epoch == nil, "a lease no longer safe is not claimed")
    }

    @Test("a grant after a loss is a regain; a different epoch while safe is a loss and a regain")
    func regain() throws {
        var machine = machine()
        _ = try machine.succeeded(response(partitions: [1: 101]), sentAt: clock.now, now: clock.now)
        clock.advance(by: .seconds(10))
        _ = machine.expire(at: clock.now)
        let again = try machine.succeeded(response(partitions: [1: 101]), sentAt: clock.now, now: clock.now)
        #expect(again == [.leaseRegained(Lease(response(partitions: [1: 101]))), .granted([grant(1, 101)])])
        let replaced = try machine.succeeded(response(number: 4, epoch: 200, partitions: [1: 201]), sentAt: clock.now, now: clock.now)
        #expect(
            replaced == [
                .leaseLost(.replaced), .leaseRegained(Lease(response(number: 4, epoch: 200, partitions: [1: 201]))),
                .granted([grant(1, 201)]),
            ])
    }

    @Test("a partition no longer granted is revoked, stops being reported held, and the ack is sent at once")
    func revocation() throws {
        var machine = machine()
        _ = try machine.succeeded(response(partitions: [1: 101, 2: 101]), sentAt: clock.now, now: clock.now)
        clock.advance(by: .seconds(1))
        let events = try machine.succeeded(response(partitions: [1: 101, 7: 150], revoked: [2]), sentAt: clock.now, now: clock.now)
        #expect(events == [.revoked([2]), .granted([grant(7, 150)])])
        #expect(machine.nextHeartbeat == clock.now)
        #expect(machine.nextRequest(at: clock.now).held == [1, 7])
    }

    @Test("a regrant of the same partition under a newer epoch is a revoke and a grant")
    func regrantNewEpoch() throws {
        var machine = machine()
        _ = try machine.succeeded(response(partitions: [1: 101]), sentAt: clock.now, now: clock.now)
        let events = try machine.succeeded(response(partitions: [1: 300]), sentAt: clock.now, now: clock.now)
        #expect(events == [.revoked([1]), .granted([grant(1, 300)])])
    }

    @Test("failures back off with jitter up to the heartbeat interval; a conflict loses the lease and honours Retry-After")
    func failures() throws {
        var machine = machine()
        var random = SplitMix64(seed: 7)
        _ = try machine.succeeded(response(partitions: [1: 101]), sentAt: clock.now, now: clock.now)
        for _ in 0..<20 {
            let now = clock.now
            #expect(machine.failed(.transport("refused"), now: now, using: &random).isEmpty)
            #expect(machine.nextHeartbeat <= now.advanced(by: .seconds(1)))
            #expect(machine.safeLease(at: now) != nil || machine.lease == nil)
            clock.advance(by: .milliseconds(100))
        }
        let now = clock.now
        #expect(machine.failed(.conflict(retryAfter: .seconds(5)), now: now, using: &random) == [.leaseLost(.conflict)])
        #expect(machine.nextHeartbeat >= now.advanced(by: .seconds(5)))
        #expect(machine.nextRequest(at: now).number == nil)
    }

    @Test("a 429 waits its Retry-After, past the heartbeat interval, keeps the lease and the claim, and records no refusal")
    func throttled() throws {
        var machine = machine()
        var random = SplitMix64(seed: 5)
        _ = try machine.succeeded(response(number: 3, partitions: [1: 101]), sentAt: clock.now, now: clock.now)
        for seed in 0..<20 {
            var random = SplitMix64(seed: UInt64(seed))
            var copy = machine
            #expect(copy.failed(.throttled(retryAfter: .seconds(2)), now: clock.now, using: &random).isEmpty)
            #expect(copy.nextHeartbeat >= clock.now.advanced(by: .seconds(2)), "not before Retry-After, though the interval is 1 s")
        }
        _ = machine.failed(.throttled(retryAfter: nil), now: clock.now, using: &random)
        #expect(machine.nextHeartbeat >= clock.now.advanced(by: .seconds(1)))
        #expect(machine.safeLease(at: clock.now) != nil && machine.lastRefusal == nil)
        #expect(machine.nextRequest(at: clock.now).number == 3)
    }

    @Test("a 400 for the claimed number drops the claim, so the next heartbeat can lease again; the refusal is kept until a success")
    func refusedHintIsDropped() throws {
        var machine = machine()
        var random = SplitMix64(seed: 3)
        _ = try machine.succeeded(response(number: 900), sentAt: clock.now, now: clock.now)
        #expect(machine.nextRequest(at: clock.now).number == 900)
        // The control plane now has MAX_WORKERS 8: the claim 900 is refused, and resending it would be refused forever.
        _ = machine.failed(.refused(status: 400, message: "number must be in 0..<8"), now: clock.now, using: &random)
        let request = machine.nextRequest(at: clock.now)
        #expect(request.number == nil && request.epoch == nil)
        #expect(machine.lastRefusal == HeartbeatRefusal(status: 400, message: "number must be in 0..<8"))
        _ = try machine.succeeded(response(number: 3, epoch: 500), sentAt: clock.now, now: clock.now)
        #expect(machine.lastRefusal == nil)
        #expect(machine.nextRequest(at: clock.now).number == 3)
    }

    @Test("a 5xx refusal keeps the claim: the next try may succeed as it is")
    func serverRefusalKeepsHint() throws {
        var machine = machine()
        var random = SplitMix64(seed: 4)
        _ = try machine.succeeded(response(number: 5), sentAt: clock.now, now: clock.now)
        _ = machine.failed(.refused(status: 500, message: "internal"), now: clock.now, using: &random)
        #expect(machine.nextRequest(at: clock.now).number == 5)
        #expect(machine.lastRefusal == nil)
    }

    @Test("every request takes the next sequence number and reports the store generation of the last answer")
    func sequenceAndGeneration() throws {
        var machine = machine()
        #expect(machine.nextRequest(at: clock.now).sequence == 1)
        #expect(machine.nextRequest(at: clock.now).sequence == 2)
        var answer = response()
        answer.generation = "abc:1"
        _ = try machine.succeeded(answer, sentAt: clock.now, now: clock.now)
        let request = machine.nextRequest(at: clock.now)
        #expect(request.sequence == 3)
        #expect(request.generation == "abc:1")
    }

    @Test("a store that lost the lease and cannot give it back ends it at once, long before the deadline")
    func recoveringLosesAtOnce() throws {
        var machine = machine()
        var random = SplitMix64(seed: 5)
        _ = try machine.succeeded(response(partitions: [1: 101]), sentAt: clock.now, now: clock.now)
        #expect(machine.safeLease(at: clock.now) != nil)
        let events = machine.failed(.recovering(retryAfter: .seconds(3)), now: clock.now, using: &random)
        #expect(events == [.leaseLost(.unknownToStore)])
        #expect(machine.safeLease(at: clock.now) == nil)
        #expect(machine.grants.isEmpty)
    }

    @Test("a stale answer (a copy of our request won) changes nothing, nor does another after a success")
    func staleIsIgnored() throws {
        var machine = machine()
        var random = SplitMix64(seed: 6)
        _ = try machine.succeeded(response(partitions: [1: 101]), sentAt: clock.now, now: clock.now)
        for _ in 0..<2 {
            _ = machine.nextRequest(at: clock.now)
            #expect(machine.failed(.stale, now: clock.now, using: &random).isEmpty)
            #expect(machine.safeLease(at: clock.now) != nil)
            #expect(machine.grants == [1: Epoch(rawValue: 101)])
            #expect(machine.instance == "i1")
            _ = machine.nextRequest(at: clock.now)
            _ = try machine.succeeded(response(partitions: [1: 101]), sentAt: clock.now, now: clock.now)
        }
    }

    @Test("two stale answers in a row: another process heartbeats as this instance; the lease is dropped and a new instance goes on")
    func impostorMeansNewInstance() throws {
        var machine = machine()
        var random = SplitMix64(seed: 7)
        _ = try machine.succeeded(response(partitions: [1: 101]), sentAt: clock.now, now: clock.now)
        _ = machine.nextRequest(at: clock.now)
        #expect(machine.failed(.stale, now: clock.now, using: &random).isEmpty)
        _ = machine.nextRequest(at: clock.now)
        #expect(machine.failed(.stale, now: clock.now, using: &random) == [.leaseLost(.conflict)])
        #expect(machine.safeLease(at: clock.now) == nil)
        #expect(machine.grants.isEmpty)
        #expect(machine.instance != "i1" && machine.instance.isValid)
        // The next request is the new instance's, claiming nothing the impostor may have touched.
        let next = machine.nextRequest(at: machine.nextHeartbeat)
        #expect(next.instance == machine.instance)
        #expect(next.number == nil && next.epoch == nil && next.held == [] && next.heldEpochs == nil)
        // Its answer is accepted as this process's; one for the old instance is not.
        var old = response()
        #expect(throws: HeartbeatFailure.self) { try machine.succeeded(old, sentAt: clock.now, now: clock.now) }
        old.instance = machine.instance
        #expect(try machine.succeeded(old, sentAt: clock.now, now: clock.now) == [.leaseRegained(Lease(old))])
    }

    @Test("a response without partition epochs or for another instance is refused and changes nothing")
    func malformedResponse() throws {
        var machine = machine()
        var noEpochs = response(partitions: [1: 101])
        noEpochs.partitionEpochs = nil
        #expect(throws: HeartbeatFailure.self) { try machine.succeeded(noEpochs, sentAt: clock.now, now: clock.now) }
        var other = response()
        other.instance = "i2"
        #expect(throws: HeartbeatFailure.self) { try machine.succeeded(other, sentAt: clock.now, now: clock.now) }
        #expect(machine.lease == nil && machine.grants.isEmpty)
    }

    @Test("after release nothing is safe and later answers are ignored")
    func release() throws {
        var machine = machine()
        _ = try machine.succeeded(response(partitions: [1: 101]), sentAt: clock.now, now: clock.now)
        #expect(machine.released() == [.leaseLost(.released)])
        #expect(try machine.succeeded(response(partitions: [1: 101]), sentAt: clock.now, now: clock.now).isEmpty)
        #expect(machine.safeLease(at: clock.now) == nil)
    }

    @Test("backoff ceilings double up to the cap and jitter stays within them")
    func backoff() {
        let backoff = Backoff(base: .milliseconds(50), cap: .seconds(1))
        #expect((0..<7).map { backoff.ceiling(attempt: $0) } == [50, 100, 200, 400, 800, 1000, 1000].map { .milliseconds($0) })
        var random = SplitMix64(seed: 1)
        for attempt in 0..<10 {
            let delay = backoff.delay(attempt: attempt, using: &random)
            #expect(delay >= .zero && delay <= backoff.ceiling(attempt: attempt))
        }
        #expect(backoff.delay(attempt: 0, floor: .seconds(3), using: &random) == .seconds(3))
    }
}
