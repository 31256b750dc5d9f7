import Coordination
import Hummingbird
import ServerSupport

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
                offset = DecimalDigits.write(UInt64(id.rawValue), into: output, at: offset + 1)
                output[offset] = UInt8(ascii: "\"")
                offset += 1
            }
            return offset
        }
        buffer.writeStaticString("]}")
        return buffer
    }
}
