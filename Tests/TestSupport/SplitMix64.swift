/// The seeded generator the tests draw reproducible memberships and jitter from lives in Partitioning
/// (the demo's skewed inbox uses it too); every test target that imports TestSupport sees it.
@_exported import struct Partitioning.SplitMix64
