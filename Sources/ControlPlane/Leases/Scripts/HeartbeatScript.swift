import Coordination
import RedisAdapter

/// `heartbeat`: renews or leases the number of a name, then settles the worker's partition grants
/// against the published layout.
///
/// ARGV: name, instance, held partitions (CSV), lease TTL ms, quarantine ms, max workers, consumer-group stem.
/// Reply: `{"kind": "leased", "expired", "number", "epoch", "grants": "p:epoch,…",
/// "revoked": "p,…", "layoutVersion", "newLease", "consumerGroup"}`, or
/// `{"kind": "conflict" | "exhausted", "expired", "retryAfterMs"}`. `expired` counts the leases this run
/// found past their expiry and released. Not idempotent: a second run may lease a number anew.
struct HeartbeatScript: LeaseScript {
    var name: WorkerName
    var instance: String
    var held: [Int]
    var settings: LeaseSettings

    var arguments: [String] {
        [
            name.rawValue, instance, held.map(String.init).joined(separator: ","), String(settings.leaseTTL.wholeMilliseconds),
            String(settings.numberQuarantine.wholeMilliseconds), String(settings.maxWorkers),
            ConsumerGroup.stem(prefix: settings.consumerGroupPrefix),
        ]
    }

    /// What the heartbeat did.
    struct Reply: Decodable, Sendable, Equatable {
        var outcome: Outcome
        /// Leases found expired (and released) on the way.
        var expired: Int

        enum Outcome: Sendable, Equatable {
            /// The name holds a lease: renewed, or new when `newLease`.
            case leased(Leased)
            /// Another live instance holds the name; it may be free after `retryAfterMillis`.
            case conflict(retryAfterMillis: Int64)
            /// No number is grantable; one may be after `retryAfterMillis`.
            case exhausted(retryAfterMillis: Int64)
        }

        /// The lease after this heartbeat and the partitions it may process (`grants`) or must stop (`revoked`).
        struct Leased: Sendable, Equatable {
            var number: WorkerNumber
            var epoch: Epoch
            var newLease: Bool
            var grants: [PartitionGrant]
            var revoked: [Int]
            var layoutVersion: Int64
            var consumerGroup: String
        }

        private enum Key: String, CodingKey {
            case kind, expired, retryAfterMs, number, epoch, grants, revoked, layoutVersion, newLease, consumerGroup
        }

        init(outcome: Outcome, expired: Int) {
            self.outcome = outcome
            self.expired = expired
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            expired = try container.decode(Int.self, forKey: .expired)
            switch try container.decode(String.self, forKey: .kind) {
            case "leased":
                guard let epoch = Int64(try container.decode(String.self, forKey: .epoch)), epoch >= 0 else {
                    throw DecodingError.dataCorruptedError(forKey: .epoch, in: container, debugDescription: "not an epoch")
                }
                outcome = .leased(
                    Leased(
                        number: try container.decode(WorkerNumber.self, forKey: .number), epoch: Epoch(rawValue: epoch),
                        newLease: try container.decode(Bool.self, forKey: .newLease),
                        grants: try ReplyList.grants(try container.decode(String.self, forKey: .grants)),
                        revoked: try ReplyList.partitions(try container.decode(String.self, forKey: .revoked)),
                        layoutVersion: try container.decode(Int64.self, forKey: .layoutVersion),
                        consumerGroup: try container.decode(String.self, forKey: .consumerGroup)))
            case "conflict":
                outcome = .conflict(retryAfterMillis: try Self.millis(container))
            case "exhausted":
                outcome = .exhausted(retryAfterMillis: try Self.millis(container))
            case let kind:
                throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown kind \(kind)")
            }
        }

        private static func millis(_ container: KeyedDecodingContainer<Key>) throws -> Int64 {
            guard let millis = Int64(try container.decode(String.self, forKey: .retryAfterMs)), millis >= 0 else {
                throw DecodingError.dataCorruptedError(forKey: .retryAfterMs, in: container, debugDescription: "not milliseconds")
            }
            return millis
        }
    }

    static let name = "heartbeat"
    static let script = make(
        #"""
        local name, instance = ARGV[1], ARGV[2]
        local held = csvSet(ARGV[3])
        local ttl, quarantineMs, maxWorkers, groupStem = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
        local expired = expire(quarantineMs)

        local number, epoch
        local isNew = false
        local record = redis.call('HGET', K.workers, name)
        if record then
            local w = cjson.decode(record)
            if w.instance ~= instance then
                local until_ = tonumber(redis.call('ZSCORE', K.expiry, name)) or nowMs
                return cjson.encode({kind = 'conflict', expired = expired,
                    retryAfterMs = string.format('%d', math.max(until_ - nowMs, 0))})
            end
            number, epoch = w.number, w.epoch
        else
            for candidate = 0, maxWorkers - 1 do
                if redis.call('HEXISTS', K.numbers, candidate) == 0 and not redis.call('ZSCORE', K.quarantine, candidate) then
                    number = candidate
                    break
                end
            end
            if not number then
                local retry = ttl
                local q = redis.call('ZRANGE', K.quarantine, 0, 0, 'WITHSCORES')
                if q[2] then retry = math.min(retry, tonumber(q[2]) - nowMs) end
                local e = redis.call('ZRANGE', K.expiry, 0, 0, 'WITHSCORES')
                if e[2] then retry = math.min(retry, tonumber(e[2]) - nowMs) end
                return cjson.encode({kind = 'exhausted', expired = expired, retryAfterMs = string.format('%d', math.max(retry, 1))})
            end
            epoch = nextEpoch()
            isNew = true
            redis.call('HSET', K.numbers, number, name)
            redis.call('HDEL', K.grantedBy, number)
            redis.call('INCR', K.membership)
        end

        -- Grants: keep what is still ours; revoke what moved away (held until the worker lets go);
        -- grant a partition of our share only when nobody holds a grant on it. Each new grant gets a
        -- fresh epoch, so a partition's fencing token grows with every handoff, whichever lease is older.
        local share, shareList = csvSet(redis.call('HGET', K.layoutByNumber, number))
        local previous, grantEpochs = grantList(redis.call('HGET', K.grantedBy, number))
        local granted, revoked, keep, seen = {}, {}, {}, {}
        for _, p in ipairs(previous) do
            seen[p] = true
            if share[p] then
                granted[#granted + 1] = p; keep[#keep + 1] = p
            elseif held[p] then
                revoked[#revoked + 1] = p; keep[#keep + 1] = p
            elseif tonumber(redis.call('HGET', K.grants, p)) == number then
                redis.call('HDEL', K.grants, p)
            end
        end
        local grantEpoch
        for _, p in ipairs(shareList) do
            if not seen[p] then
                local owner = redis.call('HGET', K.grants, p)
                if not owner or tonumber(owner) == number then
                    grantEpoch = grantEpoch or nextEpoch()
                    redis.call('HSET', K.grants, p, number)
                    grantEpochs[p] = grantEpoch
                    granted[#granted + 1] = p; keep[#keep + 1] = p; seen[p] = true
                end
            end
        end
        for p in pairs(held) do
            if not seen[p] then revoked[#revoked + 1] = p end
        end
        table.sort(granted); table.sort(revoked); table.sort(keep)
        redis.call('HSET', K.grantedBy, number, grantCSV(keep, grantEpochs))

        local expiresAt = nowMs + ttl
        local version = tonumber(redis.call('HGET', K.layout, 'version') or '0')
        local group = groupStem .. string.format('%d', number)
        redis.call('ZADD', K.expiry, string.format('%d', expiresAt), name)
        redis.call('HSET', K.workers, name, string.format(
            '{"number":%d,"epoch":%.0f,"instance":"%s","expiresAt":"%s","partitions":%d,"consumerGroup":"%s","layoutVersion":%d}',
            number, epoch, instance, iso8601(expiresAt), #granted, group, version))
        return cjson.encode({kind = 'leased', expired = expired, number = number, epoch = string.format('%.0f', epoch),
            grants = grantCSV(granted, grantEpochs), revoked = csv(revoked), layoutVersion = version, newLease = isNew,
            consumerGroup = group})
        """#, idempotent: false)
}
