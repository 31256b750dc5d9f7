#!/usr/bin/env python3
"""Reference implementation of Rollcall's key -> partition -> owner layout, for clients in other
languages. Needs `pip install xxhash`. Prints a digest that Tests/PartitioningTests pins, so the Swift
code and this file cannot drift apart unnoticed.

    partition(key) = xxh64(utf8(key), seed=0) % partition_count
    score(p, m)    = xxh64(uint32_le(p) + uint32_le(m), seed=0)
    capacity       = ceil((1 + epsilon) * partition_count / member_count)   (IEEE-754 doubles)
    owners         = walk all (p, m) pairs by score desc, then p asc, then m asc; give p to m when
                     p is unowned and m owns fewer than capacity partitions.
"""
import math
import struct
import sys

import xxhash


def partition(key: str, partition_count: int) -> int:
    return xxhash.xxh64(key.encode("utf-8"), seed=0).intdigest() % partition_count


def score(p: int, m: int) -> int:
    return xxhash.xxh64(struct.pack("<II", p, m), seed=0).intdigest()


def owners(members, partition_count: int, epsilon: float = 0.1):
    members = sorted(set(members))
    result = [None] * partition_count
    if not members:
        return result
    capacity = math.ceil((1 + epsilon) * partition_count / len(members))
    load = {m: 0 for m in members}
    pairs = sorted(((score(p, m), p, m) for p in range(partition_count) for m in members),
                   key=lambda t: (-t[0], t[1], t[2]))
    for _, p, m in pairs:
        if result[p] is None and load[m] < capacity:
            result[p] = m
            load[m] += 1
    return result


def digest(table) -> int:
    """xxh64 over the owners table as int32 LE values, -1 for unowned."""
    return xxhash.xxh64(b"".join(struct.pack("<i", -1 if o is None else o) for o in table)).intdigest()


if __name__ == "__main__":
    print("owners([0,1,2], 16) =", owners([0, 1, 2], 16))
    print("owners([5,9], 8, eps=0) =", owners([5, 9], 8, 0.0))
    print("digest(0..<64, 1024) = 0x%016X" % digest(owners(range(64), 1024)))
    print("digest([3,7,8,100,1000], 1024) = 0x%016X" % digest(owners([3, 7, 8, 100, 1000], 1024)))
    print("digest(0..<1500, 1024) = 0x%016X" % digest(owners(range(1500), 1024)))
    for key in ["", "order-42", "héllo"]:
        print("partition(%r, 1024) = %d" % (key, partition(key, 1024)))
    sys.exit(0)
