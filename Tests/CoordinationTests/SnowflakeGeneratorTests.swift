import Foundation
import Synchronization
import Testing

@testable import Coordination

/// A wall clock that returns scripted readings, then repeats the last one plus `step` per read.
final class ScriptedClock: MillisecondClock {
    private let state: Mutex<(readings: [Int64], last: Int64, step: Int64, reads: Int)>

    init(_ readings: [Int64], thenStep step: Int64 = 1) {
        state = Mutex((readings, readings.first ?? 0, step, 0))
    }

    func currentMillis() -> Int64 {
        state.withLock { state in
            state.reads += 1
            if !state.readings.isEmpty {
                state.last = state.readings.removeFirst()
            } else {
                state.last += state.step
            }
            return state.last
        }
    }

    var reads: Int { state.withLock { $0.reads } }
}

struct SnowflakeGeneratorTests {
    let epoch = SnowflakeID.defaultOriginMillis

    @Test("an id packs time since the id origin, the worker number and the sequence")
    func layout() throws {
        let generator = SnowflakeGenerator(workerNumber: 5, clock: ScriptedClock([epoch + 1234]))
        let id = try generator.next()
        #expect(id.millisSinceOrigin == 1234)
        #expect(id.workerNumber == 5)
        #expect(id.sequence == 0)
        #expect(id.rawValue == 1234 << 22 | 5 << 12)
    }

    @Test("ids within one millisecond count the sequence up")
    func sequence() throws {
        let generator = SnowflakeGenerator(workerNumber: 1, clock: ScriptedClock([epoch + 10, epoch + 10, epoch + 10]))
        #expect(try (0..<3).map { _ in try generator.next().sequence } == [0, 1, 2])
    }

    @Test("when 4,096 ids fill a millisecond, the generator waits for the next one")
    func exhaustionWaits() throws {
        // The clock stays on ms 10 for 4,096 reads plus 3 more, then moves on.
        let clock = ScriptedClock(Array(repeating: epoch + 10, count: 4096 + 3) + [epoch + 11])
        let generator = SnowflakeGenerator(workerNumber: 1, clock: clock)
        let ids = try generator.next(count: 4096)
        #expect(ids.last?.sequence == 4095)
        let next = try generator.next()
        #expect(next.millisSinceOrigin == 11)
        #expect(next.sequence == 0)
        #expect(clock.reads == 4096 + 4)
    }

    @Test("a small clock step back keeps counting on the last millisecond, never repeating an id")
    func smallStepBack() throws {
        let clock = ScriptedClock([epoch + 100, epoch + 95, epoch + 96, epoch + 101])
        let generator = SnowflakeGenerator(workerNumber: 3, clock: clock, maxClockStepBackMillis: 10)
        let ids = try (0..<4).map { _ in try generator.next() }
        #expect(ids.map(\.millisSinceOrigin) == [100, 100, 100, 101])
        #expect(ids.map(\.sequence) == [0, 1, 2, 0])
        #expect(ids == ids.sorted() && Set(ids).count == 4)
    }

    @Test("a large clock step back fails instead of repeating ids")
    func largeStepBack() throws {
        let generator = SnowflakeGenerator(
            workerNumber: 3, clock: ScriptedClock([epoch + 1000, epoch + 500]), maxClockStepBackMillis: 10)
        _ = try generator.next()
        #expect(throws: SnowflakeError.clockMovedBackwards(millis: 500)) { try generator.next() }
    }

    @Test("batch sizes outside 1...4096 and times before the id origin are refused")
    func refusesBadInput() throws {
        let generator = SnowflakeGenerator(workerNumber: 0, clock: ScriptedClock([epoch - 5]))
        #expect(throws: SnowflakeError.countOutOfRange(0)) { try generator.next(count: 0) }
        #expect(throws: SnowflakeError.countOutOfRange(4097)) { try generator.next(count: 4097) }
        #expect(throws: SnowflakeError.timestampOutOfRange(millisSinceOrigin: -5)) { try generator.next() }
    }

    @Test("ids from many threads on the real clock are unique and each thread's ids increase")
    func concurrentUnique() async throws {
        let generator = SnowflakeGenerator(workerNumber: 7, clock: SystemMillisecondClock())
        let batches = try await withThrowingTaskGroup(of: [SnowflakeID].self) { group in
            for _ in 0..<8 { group.addTask { try (0..<5000).map { _ in try generator.next() } } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(batches.joined()).count == 40_000)
        #expect(batches.allSatisfy { $0 == $0.sorted() })
        #expect(batches.joined().allSatisfy { $0.workerNumber == 7 })
    }

    @Test("the field widths come from the bit counts: the last millisecond, number and sequence round-trip")
    func bitLayout() {
        #expect(SnowflakeID.timestampBits + SnowflakeID.workerBits + SnowflakeID.sequenceBits == 63)
        #expect(SnowflakeID.maxTimestamp == (Int64(1) << SnowflakeID.timestampBits) - 1)
        let id = SnowflakeID(millisSinceOrigin: SnowflakeID.maxTimestamp, workerNumber: 1023, sequence: SnowflakeID.maxSequence)
        #expect(id.rawValue == Int64.max)
        #expect(id.millisSinceOrigin == SnowflakeID.maxTimestamp && id.workerNumber == 1023 && id.sequence == 4095)
    }

    @Test("ids are strings on the wire")
    func wireFormat() throws {
        let id = SnowflakeID(rawValue: 7_000_000_000_000_000_123)
        let data = try JSONEncoder().encode(["id": id])
        #expect(String(decoding: data, as: UTF8.self) == #"{"id":"7000000000000000123"}"#)
        #expect(try JSONDecoder().decode([String: SnowflakeID].self, from: data)["id"] == id)
    }
}
