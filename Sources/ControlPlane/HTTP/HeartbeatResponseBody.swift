import Coordination
import NIOCore
import ServerSupport

/// The body of a granted heartbeat, written field by field into one buffer: the JSON object
/// `JSONEncoder` makes of `HeartbeatResponse` (absent optionals left out, strings escaped as it escapes
/// them; keys in declaration order, where JSONEncoder's order changes from run to run), without its
/// pass over a tree of boxed values. Every worker sends a heartbeat a second, and encoding
/// the answer with `JSONEncoder` was a tenth of the control plane's time per heartbeat.
enum HeartbeatResponseBody {
    static func encode(_ response: HeartbeatResponse) -> ByteBuffer {
        let numbers = response.partitions.count + response.revoked.count + (response.partitionEpochs?.count ?? 0)
        var buffer = ByteBufferAllocator().buffer(capacity: 400 + numbers * (DecimalDigits.maxCount + 1))
        buffer.writeStaticString("{\"name\":")
        buffer.writeJSONString(response.name)
        buffer.writeStaticString(",\"instance\":")
        buffer.writeJSONString(response.instance.rawValue)
        buffer.writeStaticString(",\"number\":")
        buffer.writeDecimal(Int64(response.number.rawValue))
        buffer.writeStaticString(",\"epoch\":")
        buffer.writeDecimal(response.epoch.rawValue)
        buffer.writeStaticString(",\"leaseTTLMillis\":")
        buffer.writeDecimal(response.leaseTTLMillis)
        buffer.writeStaticString(",\"heartbeatIntervalMillis\":")
        buffer.writeDecimal(response.heartbeatIntervalMillis)
        buffer.writeStaticString(",\"layoutVersion\":")
        buffer.writeDecimal(response.layoutVersion)
        buffer.writeStaticString(",\"partitions\":")
        buffer.writeDecimalArray(response.partitions.map(\.rawValue))
        if let epochs = response.partitionEpochs {
            buffer.writeStaticString(",\"partitionEpochs\":")
            buffer.writeDecimalArray(epochs.map(\.rawValue))
        }
        buffer.writeStaticString(",\"revoked\":")
        buffer.writeDecimalArray(response.revoked.map(\.rawValue))
        buffer.writeStaticString(",\"consumerGroup\":")
        buffer.writeJSONString(response.consumerGroup)
        buffer.writeStaticString(",\"partitionCount\":")
        buffer.writeDecimal(Int64(response.partitionCount))
        if let generation = response.generation {
            buffer.writeStaticString(",\"generation\":")
            buffer.writeJSONString(generation.rawValue)
        }
        if let kind = response.kind {
            buffer.writeStaticString(",\"kind\":")
            buffer.writeJSONString(kind.rawValue)
        }
        buffer.writeStaticString("}")
        return buffer
    }
}
