/// xxHash64 (XXH64), implemented from the xxHash specification
/// (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md, "XXH64 algorithm").
///
/// Rollcall's one stable hash: keys map to partitions with it, and the layout scores
/// (partition, member) pairs with it, so a client in any language that has XXH64 computes
/// the same partition and the same owners table. The tests pin it to the published
/// sanity vectors of the reference implementation (`xsum_sanity_check.c`).
public enum XXHash64 {
    static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    /// XXH64 of the bytes of `input` with `seed`.
    public static func hash<Bytes: Sequence>(_ input: Bytes, seed: UInt64 = 0) -> UInt64
    where Bytes.Element == UInt8 {
        if let digest = input.withContiguousStorageIfAvailable({ hash(buffer: UnsafeRawBufferPointer($0), seed: seed) }) {
            return digest
        }
        return Array(input).withUnsafeBytes { hash(buffer: $0, seed: seed) }
    }

    /// XXH64 of the UTF-8 bytes of `string` with `seed`.
    public static func hash(_ string: String, seed: UInt64 = 0) -> UInt64 {
        var string = string
        return string.withUTF8 { hash(buffer: UnsafeRawBufferPointer($0), seed: seed) }
    }

    /// XXH64 of exactly eight bytes, the little-endian encoding of `value`; equal to
    /// `hash(bytes of value.littleEndian)`, without touching memory. Used for layout scores.
    @inlinable
    public static func hash(littleEndianWord value: UInt64, seed: UInt64 = 0) -> UInt64 {
        var h = seed &+ 0x27D4_EB2F_1656_67C5 &+ 8
        h ^= round(0, value)
        h = rotl(h, 27) &* 0x9E37_79B1_85EB_CA87 &+ 0x85EB_CA77_C2B2_AE63
        return avalanche(h)
    }

    static func hash(buffer: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let length = buffer.count
        var offset = 0
        var h: UInt64
        if length >= 32 {
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            while offset + 32 <= length {
                v1 = round(v1, word64(buffer, offset))
                v2 = round(v2, word64(buffer, offset + 8))
                v3 = round(v3, word64(buffer, offset + 16))
                v4 = round(v4, word64(buffer, offset + 24))
                offset += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = mergeRound(h, v1)
            h = mergeRound(h, v2)
            h = mergeRound(h, v3)
            h = mergeRound(h, v4)
        } else {
            h = seed &+ prime5
        }
        h &+= UInt64(length)
        while offset + 8 <= length {
            h ^= round(0, word64(buffer, offset))
            h = rotl(h, 27) &* prime1 &+ prime4
            offset += 8
        }
        if offset + 4 <= length {
            h ^= UInt64(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) &* prime1
            h = rotl(h, 23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < length {
            h ^= UInt64(buffer[offset]) &* prime5
            h = rotl(h, 11) &* prime1
            offset += 1
        }
        return avalanche(h)
    }

    @inlinable static func round(_ accumulator: UInt64, _ lane: UInt64) -> UInt64 {
        rotl(accumulator &+ lane &* 0xC2B2_AE3D_27D4_EB4F, 31) &* 0x9E37_79B1_85EB_CA87
    }

    static func mergeRound(_ accumulator: UInt64, _ lane: UInt64) -> UInt64 {
        (accumulator ^ round(0, lane)) &* prime1 &+ prime4
    }

    @inlinable static func avalanche(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33
        h &*= 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 29
        h &*= 0x1656_67B1_9E37_79F9
        h ^= h >> 32
        return h
    }

    @inlinable static func rotl(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }

    private static func word64(_ buffer: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
