import NIOCore
import Testing

@_spi(Benchmarks) @testable import RedisAdapter

/// Commands as Redis reads them (RESP: an array of bulk strings, each with its byte length), with no server.
struct HiredisCodecTests {
    func encoded(_ commands: [[String]]) throws -> String {
        try encoded(bytes: commands.map { $0.map { Array($0.utf8) } })
    }

    func encoded(bytes commands: [[[UInt8]]]) throws -> String {
        var buffer = ByteBuffer()
        for command in commands { try HiredisCodec.encode(command, into: &buffer) }
        return String(decoding: buffer.readableBytesView, as: UTF8.self)
    }

    @Test("a command is an array of bulk strings, each with its length")
    func plain() throws {
        #expect(try encoded([["GET", "key"]]) == "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n")
    }

    @Test("an empty argument is a bulk string of length 0, and a command of many arguments counts them all")
    func emptyAndMany() throws {
        #expect(try encoded([["SET", "k", ""]]) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n")
        let arguments = ["EVALSHA", "sha", "17"] + (0..<40).map { "rollcall:key-\($0)" }
        let expected = "*43\r\n" + arguments.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
        #expect(try encoded([arguments]) == expected)
    }

    @Test("binary arguments keep every byte: NUL, CR LF and 0xFF are counted, not interpreted")
    func binary() throws {
        var buffer = ByteBuffer()
        try HiredisCodec.encode([Array("SET".utf8), [0x00, 0x0D, 0x0A, 0xFF]], into: &buffer)
        #expect(Array(buffer.readableBytesView) == Array("*2\r\n$3\r\nSET\r\n$4\r\n".utf8) + [0x00, 0x0D, 0x0A, 0xFF] + [0x0D, 0x0A])
    }

    @Test("an argument of a megabyte, far past any scratch area on the stack, is written whole")
    func large() throws {
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
        var buffer = ByteBuffer()
        try HiredisCodec.encode([Array("SET".utf8), Array("k".utf8), value], into: &buffer)
        let header = Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048576\r\n".utf8)
        #expect(buffer.readableBytes == header.count + value.count + 2)
        #expect(Array(buffer.readableBytesView.prefix(header.count)) == header)
        #expect(Array(buffer.readableBytesView.suffix(2)) == [0x0D, 0x0A])
    }

    @Test("commands written one after another into one buffer follow each other in order (a pipeline)")
    func appended() throws {
        #expect(try encoded([["PING"], ["ECHO", "a"]]) == "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\na\r\n")
    }
}
