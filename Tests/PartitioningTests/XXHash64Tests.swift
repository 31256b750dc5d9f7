import TestSupport
import Testing

@testable import Partitioning

struct XXHash64Tests {
    /// The sanity buffer of xxHash's `xsum_sanity_check.c`.
    static let sanityBuffer: [UInt8] = {
        var generator: UInt64 = 2_654_435_761
        return (0..<222).map { _ in
            defer { generator &*= 11_400_714_785_074_694_797 }
            return UInt8(generator >> 56)
        }
    }()

    @Test(
        "matches the published XXH64 sanity vectors",
        arguments: [
            (0, UInt64(0), UInt64(0xEF46_DB37_51D8_E999)),
            (0, 2_654_435_761, 0xAC75_FDA2_929B_17EF),
            (1, 0, 0xE934_A84A_DB05_2768),
            (1, 2_654_435_761, 0x5014_6076_43A9_B4C3),
            (4, 0, 0x9136_A0DC_A574_57EE),
            (14, 0, 0x8282_DCC4_994E_35C8),
            (14, 2_654_435_761, 0xC3BD_6BF6_3DEB_6DF0),
            (222, 0, 0xB641_AE8C_B691_C174),
            (222, 2_654_435_761, 0x20CB_8AB7_AE10_C14A),
        ])
    func sanityVectors(length: Int, seed: UInt64, expected: UInt64) {
        #expect(XXHash64.hash(Self.sanityBuffer.prefix(length), seed: seed) == expected)
    }

    @Test("hashes a string as its UTF-8 bytes")
    func stringsAreUTF8() {
        #expect(XXHash64.hash("abc") == 0x44BC_2CF5_AD77_0999)
        #expect(XXHash64.hash("héllo") == XXHash64.hash(Array("héllo".utf8)))
    }

    @Test("the eight-byte fast path equals the general path")
    func wordFastPath() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<1000 {
            let word = rng.next()
            let seed = rng.next() % 3
            let bytes = withUnsafeBytes(of: word.littleEndian) { Array($0) }
            #expect(XXHash64.hash(littleEndianWord: word, seed: seed) == XXHash64.hash(bytes, seed: seed))
        }
    }
}
