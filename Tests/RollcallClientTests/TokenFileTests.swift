import Foundation
import TestSupport
import Testing

@testable import RollcallClient

struct TokenFileTests {
    @Test("the token file is read again when the kubelet swaps it (a new file behind the same path), and kept when it vanishes")
    func rotation() throws {
        let folder = try SecretFolder()
        let path = try folder.write("token", "first-token\n")
        let file = TokenFile(path: path)
        #expect(file.current() == "first-token")
        // The kubelet writes a new file and renames it over the old one, as `atomically` does.
        try "second-token".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(file.current() == "second-token")
        try FileManager.default.removeItem(atPath: path)
        #expect(file.current() == "second-token", "a missing file keeps the token read last")
        try "\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(file.current() == "second-token", "an empty file keeps it too")
    }
}
