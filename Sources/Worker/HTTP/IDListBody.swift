import Coordination
import Hummingbird

/// The body of `GET /v1/ids`, `{"ids":["…","…"]}`, written digit by digit into one buffer: the JSON the
/// route has always answered (ids as decimal strings), without a String per id or a JSONEncoder pass.
enum IDListBody {
    /// Longest element: a quote, 19 digits (Int64.max), a quote and a comma.
    private static let maxElementBytes = 22

    static func encode(_ ids: [SnowflakeID]) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 12 + ids.count * maxElementBytes)
        buffer.writeStaticString("{\"ids\":[")
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: ids.count * maxElementBytes) { output in
            var offset = 0
            for (position, id) in ids.enumerated() {
                if position > 0 {
                    output[offset] = UInt8(ascii: ",")
                    offset += 1
                }
                output[offset] = UInt8(ascii: "\"")
                offset = writeDecimal(UInt64(id.rawValue), into: output, at: offset + 1)
                output[offset] = UInt8(ascii: "\"")
                offset += 1
            }
            return offset
        }
        buffer.writeStaticString("]}")
        return buffer
    }

    /// Writes `value` in decimal at `offset`; returns the offset after its last digit.
    private static func writeDecimal(_ value: UInt64, into output: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        var remaining = value
        var index = offset + digits
        repeat {
            index -= 1
            output[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
            remaining /= 10
        } while remaining > 0
        return offset + digits
    }
}
