/// A token bucket's settings: `rate` requests a second on average, up to `burst` at once.
/// Written `20/s` or `600/m` (RATE_LIMIT, a pool's `rateLimit`); the burst is RATE_LIMIT_BURST (a
/// pool's `rateLimitBurst`), by default twice the rate per second, at least 1.
struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    var rate: Double
    var burst: Double

    init(rate: Double, burst: Double? = nil) {
        self.rate = rate
        self.burst = burst ?? max(1, (2 * rate).rounded(.up))
    }

    static let rule = "a rate like 20/s or 600/m (a positive number of requests per second or per minute)"

    init?(text: String, burst: Double? = nil) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Double(parts[0]), count.isFinite, count > 0, count <= 1e9 else { return nil }
        switch parts[1] {
        case "s": self.init(rate: count, burst: burst)
        case "m": self.init(rate: count / 60, burst: burst)
        default: return nil
        }
    }

    var description: String { "\(rate)/s, burst \(burst)" }
}

/// A token bucket per caller: `take` spends one token or says how long until there is one. Buckets
/// that have filled up again are forgotten once there are `pruneAbove` of them.
struct RateBuckets {
    private struct Bucket {
        var tokens: Double
        var at: Double
    }

    private var buckets: [String: Bucket] = [:]
    let pruneAbove: Int

    init(pruneAbove: Int = 50_000) { self.pruneAbove = pruneAbove }

    var count: Int { buckets.count }

    /// Spends a token of `key`'s bucket at `now` (seconds): nil when there was one, else the seconds
    /// until there is.
    mutating func take(_ key: String, limit: RateLimit, now: Double) -> Double? {
        var bucket = buckets[key] ?? Bucket(tokens: limit.burst, at: now)
        bucket.tokens = min(limit.burst, bucket.tokens + max(0, now - bucket.at) * limit.rate)
        bucket.at = now
        defer {
            buckets[key] = bucket
            if buckets.count > pruneAbove { prune(now: now, limit: limit) }
        }
        guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / limit.rate }
        bucket.tokens -= 1
        return nil
    }

    /// Drops every bucket that is full again by `now` (its caller has been quiet long enough).
    private mutating func prune(now: Double, limit: RateLimit) {
        buckets = buckets.filter { $0.value.tokens + (now - $0.value.at) * limit.rate < limit.burst }
    }
}
