/// RFC 8259 JSON syntax, checked before a body is decoded: Foundation's decoder also takes trailing
/// commas (`{"instance": "x",}`), which a client in another language would never have sent on purpose.
/// Only syntax is checked here; the types are the decoder's job.
public enum StrictJSON {
    /// Why `bytes` is not one JSON text, or nil if it is.
    public static func problem(in bytes: some Collection<UInt8>) -> String? {
        var parser = Parser(bytes: Array(bytes))
        do throws(Failure) {
            parser.skipWhitespace()
            try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.index == parser.bytes.count else {
                throw Failure(message: "unexpected data after the JSON value", at: parser.index)
            }
            return nil
        } catch {
            return "\(error.message) at byte \(error.at)"
        }
    }

    /// How deep arrays and objects may nest.
    public static let maxDepth = 64

    private struct Failure: Error {
        var message: String
        var at: Int
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        func fail(_ message: String) -> Failure { Failure(message: message, at: index) }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func value(depth: Int) throws(Failure) {
            guard let byte = current else { throw fail("a value is missing") }
            switch byte {
            case UInt8(ascii: "{"): try object(depth: depth + 1)
            case UInt8(ascii: "["): try array(depth: depth + 1)
            case UInt8(ascii: "\""): try string()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            default: throw fail("unexpected character")
            }
        }

        private mutating func object(depth: Int) throws(Failure) {
            try container(closing: "}", depth: depth) { (parser: inout Parser) throws(Failure) in
                guard parser.current == UInt8(ascii: "\"") else { throw parser.fail("an object key must be a string (no trailing comma)") }
                try parser.string()
                parser.skipWhitespace()
                guard parser.current == UInt8(ascii: ":") else { throw parser.fail("':' expected") }
                parser.index += 1
                parser.skipWhitespace()
                try parser.value(depth: depth)
            }
        }

        private mutating func array(depth: Int) throws(Failure) {
            try container(closing: "]", depth: depth) { (parser: inout Parser) throws(Failure) in
                guard parser.current != UInt8(ascii: "]") else { throw parser.fail("a value is missing (no trailing comma)") }
                try parser.value(depth: depth)
            }
        }

        /// An object or an array: the opening byte, then `element`s separated by commas, then `closing`.
        private mutating func container(
            closing: Unicode.Scalar, depth: Int, _ element: (inout Parser) throws(Failure) -> Void
        ) throws(Failure) {
            guard depth <= StrictJSON.maxDepth else { throw fail("nested deeper than \(StrictJSON.maxDepth)") }
            let close = UInt8(ascii: closing)
            index += 1
            skipWhitespace()
            if current == close {
                index += 1
                return
            }
            while true {
                try element(&self)
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","):
                    index += 1
                    skipWhitespace()
                case close:
                    index += 1
                    return
                default: throw fail("',' or '\(closing)' expected")
                }
            }
        }

        mutating func string() throws(Failure) {
            index += 1
            while let byte = current {
                index += 1
                switch byte {
                case UInt8(ascii: "\""): return
                case UInt8(ascii: "\\"):
                    guard let escaped = current else { throw fail("unterminated string") }
                    index += 1
                    if escaped == UInt8(ascii: "u") {
                        for _ in 0..<4 {
                            guard let hex = current, Self.isHex(hex) else { throw fail("\\u needs four hex digits") }
                            index += 1
                        }
                    } else if !Array("\"\\/bfnrt".utf8).contains(escaped) {
                        throw fail("invalid escape")
                    }
                case 0x00...0x1F: throw fail("control character in a string")
                default: break
                }
            }
            throw fail("unterminated string")
        }

        private mutating func number() throws(Failure) {
            if current == UInt8(ascii: "-") { index += 1 }
            guard let first = current, Self.isDigit(first) else { throw fail("a digit expected") }
            index += 1
            if first != UInt8(ascii: "0") { while let byte = current, Self.isDigit(byte) { index += 1 } }
            if current == UInt8(ascii: ".") {
                index += 1
                guard let byte = current, Self.isDigit(byte) else { throw fail("a digit expected after '.'") }
                while let byte = current, Self.isDigit(byte) { index += 1 }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard let byte = current, Self.isDigit(byte) else { throw fail("a digit expected in the exponent") }
                while let byte = current, Self.isDigit(byte) { index += 1 }
            }
        }

        private mutating func literal(_ word: String) throws(Failure) {
            for expected in word.utf8 {
                guard current == expected else { throw fail("invalid literal") }
                index += 1
            }
        }

        private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        private static func isHex(_ byte: UInt8) -> Bool {
            isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
        }
    }
}
