import NIOCore

/// The pieces of a JSON body a hot route writes itself, straight into the response buffer: numbers in
/// decimal and strings quoted and escaped as `JSONEncoder` writes them (`"`, `\`, `/` and control
/// characters), so such a route answers byte for byte what encoding its `Codable` type would.
public enum DecimalDigits {
    /// The bytes of the longest `UInt64`; with a sign, an `Int64` needs as many.
    public static let maxCount = 20

    /// Writes `value` in decimal at `offset`; returns the offset after its last digit.
    public static func write(_ value: UInt64, into output: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
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

extension ByteBuffer {
    /// `value` in decimal, with a `-` when negative. (Not generic: a generic from another module is
    /// not specialized for its callers, and the hot routes paid for that.)
    public mutating func writeDecimal(_ value: Int64) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: DecimalDigits.maxCount + 1) { output in
            var offset = 0
            if value < 0 {
                output[0] = UInt8(ascii: "-")
                offset = 1
            }
            return DecimalDigits.write(value.magnitude, into: output, at: offset)
        }
    }

    /// `text` as a JSON string: quoted, with `"`, `\`, `/` and control characters escaped.
    public mutating func writeJSONString(_ text: String) {
        writeInteger(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for (index, byte) in bytes.enumerated()
            where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
                || byte == UInt8(ascii: "/")
            {
                writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start..<index])))
                start = index + 1
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): writeBytes([UInt8(ascii: "\\"), byte])
                case 0x08: writeStaticString("\\b")
                case 0x09: writeStaticString("\\t")
                case 0x0A: writeStaticString("\\n")
                case 0x0C: writeStaticString("\\f")
                case 0x0D: writeStaticString("\\r")
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    writeStaticString("\\u00")
                    writeBytes([hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
                }
            }
            writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start...])))
        }
        writeInteger(UInt8(ascii: "\""))
    }

    /// `values` as a JSON array of numbers.
    public mutating func writeDecimalArray(_ values: [Int64]) {
        writeInteger(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { writeInteger(UInt8(ascii: ",")) }
            writeDecimal(value)
        }
        writeInteger(UInt8(ascii: "]"))
    }

    /// `values` as a JSON array of numbers.
    public mutating func writeDecimalArray(_ values: [Int]) {
        writeInteger(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { writeInteger(UInt8(ascii: ",")) }
            writeDecimal(Int64(value))
        }
        writeInteger(UInt8(ascii: "]"))
    }
}
