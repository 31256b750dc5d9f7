import Synchronization

/// Issues Snowflake ids for one worker number. Thread-safe.
///
/// Within one millisecond it counts the sequence up; when 4,096 ids are used it waits for the
/// next millisecond. If the clock steps back by at most `maxClockStepBack` it keeps counting on
/// the last millisecond it used (waiting for the clock only if that millisecond fills up);
/// a larger step back fails with `clockMovedBackwards`. It never repeats an id.
public final class SnowflakeGenerator<C: MillisecondClock>: Sendable {
    /// The most ids one `next(count:)` call issues.
    public static var maxBatch: Int { 4096 }

    public let workerNumber: WorkerNumber
    public let originMillis: Int64
    public let maxClockStepBackMillis: Int64
    private let clock: C
    private let state = Mutex(State())

    private struct State {
        var lastMillis: Int64 = -1
        var sequence = 0
    }

    /// A generator for `workerNumber`, counting milliseconds from `originMillis` (Unix ms).
    public init(
        workerNumber: WorkerNumber, clock: C, originMillis: Int64 = SnowflakeID.defaultOriginMillis, maxClockStepBackMillis: Int64 = 10
    ) {
        self.workerNumber = workerNumber
        self.clock = clock
        self.originMillis = originMillis
        self.maxClockStepBackMillis = maxClockStepBackMillis
    }

    /// The next id.
    public func next() throws(SnowflakeError) -> SnowflakeID {
        try state.withLock { (state) throws(SnowflakeError) -> SnowflakeID in try issue(&state) }
    }

    /// `count` consecutive ids (1...4096), issued under one lock.
    public func next(count: Int) throws(SnowflakeError) -> [SnowflakeID] {
        guard (1...Self.maxBatch).contains(count) else { throw .countOutOfRange(count) }
        return try state.withLock { (state) throws(SnowflakeError) -> [SnowflakeID] in
            var ids: [SnowflakeID] = []
            ids.reserveCapacity(count)
            for _ in 0..<count { ids.append(try issue(&state)) }
            return ids
        }
    }

    private func issue(_ state: inout State) throws(SnowflakeError) -> SnowflakeID {
        var now = clock.currentMillis() - originMillis
        guard now >= 0 else { throw .timestampOutOfRange(millisSinceOrigin: now) }
        if now < state.lastMillis {
            guard state.lastMillis - now <= maxClockStepBackMillis else {
                throw .clockMovedBackwards(millis: state.lastMillis - now)
            }
            now = state.lastMillis
        }
        if now == state.lastMillis {
            if state.sequence < SnowflakeID.maxSequence {
                state.sequence += 1
            } else {
                now = try waitPast(state.lastMillis)
                state.sequence = 0
            }
        } else {
            state.sequence = 0
        }
        guard (0...SnowflakeID.maxTimestamp).contains(now) else { throw .timestampOutOfRange(millisSinceOrigin: now) }
        state.lastMillis = now
        return SnowflakeID(millisSinceOrigin: now, workerNumber: workerNumber, sequence: state.sequence)
    }

    /// Spins until the clock passes `millis` (at most about a millisecond, or the allowed step back).
    private func waitPast(_ millis: Int64) throws(SnowflakeError) -> Int64 {
        while true {
            let now = clock.currentMillis() - originMillis
            if now > millis { return now }
            if millis - now > maxClockStepBackMillis { throw .clockMovedBackwards(millis: millis - now) }
        }
    }
}
