import RedisAdapter

/// The Lua scripts that own all lease, number and grant state in Redis.
///
/// Every script reads the clock with Redis `TIME`, so any number of control-plane replicas agree
/// on expiry; Redis 7 replicates script effects, not the script, so replicas never re-read a clock.
/// Epochs and times are formatted with `%d`/`%.0f` because Lua's default number formatting (and
/// cjson's) keeps only 14 significant digits, and an epoch in microseconds has 16.
enum LeaseScripts {
    /// A script: the shared prelude, then `body`.
    private static func script(_ body: String) -> RedisScript { RedisScript(prelude + "\n" + body) }

    /// Keys, in this order, for every script: see `LeaseKeys`.
    static let prelude = #"""
        local K = {workers = KEYS[1], expiry = KEYS[2], numbers = KEYS[3], quarantine = KEYS[4], epoch = KEYS[5],
                   membership = KEYS[6], targets = KEYS[7], grants = KEYS[8], grantedBy = KEYS[9], assignment = KEYS[10],
                   leader = KEYS[11]}
        local t = redis.call('TIME')
        local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])

        local function iso8601(ms)
            local days = math.floor(ms / 86400000)
            local rem = ms - days * 86400000
            -- civil_from_days (Howard Hinnant)
            local z = days + 719468
            local era = math.floor(z / 146097)
            local doe = z - era * 146097
            local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
            local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
            local mp = math.floor((5 * doy + 2) / 153)
            local d = doy - math.floor((153 * mp + 2) / 5) + 1
            local m = mp < 10 and mp + 3 or mp - 9
            local y = yoe + era * 400 + (m <= 2 and 1 or 0)
            return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', y, m, d, math.floor(rem / 3600000),
                math.floor(rem / 60000) % 60, math.floor(rem / 1000) % 60, rem % 1000)
        end

        local function csvSet(text)
            local set, list = {}, {}
            if text then
                for p in string.gmatch(text, '%d+') do
                    local n = tonumber(p)
                    if not set[n] then set[n] = true; list[#list + 1] = n end
                end
            end
            return set, list
        end

        local function csv(list)
            local parts = {}
            for i, n in ipairs(list) do parts[i] = string.format('%d', n) end
            return table.concat(parts, ',')
        end

        -- granted-by values are 'partition:grantEpoch' pairs; returns the partitions in order and partition -> epoch.
        local function grantList(text)
            local list, epochs = {}, {}
            if text then
                for p, e in string.gmatch(text, '(%d+):(%d+)') do
                    local n = tonumber(p)
                    list[#list + 1] = n; epochs[n] = tonumber(e)
                end
            end
            return list, epochs
        end

        local function grantCSV(list, epochs)
            local parts = {}
            for i, p in ipairs(list) do parts[i] = string.format('%d:%.0f', p, epochs[p]) end
            return table.concat(parts, ',')
        end

        -- The next fencing epoch: larger than every epoch granted before, also after a failover lost the newest.
        local function nextEpoch()
            local epoch = math.max(tonumber(redis.call('GET', K.epoch) or '0') + 1, nowUs)
            redis.call('SET', K.epoch, string.format('%.0f', epoch))
            return epoch
        end

        -- Frees a worker's number (quarantined), its grants and its entry in the operator view.
        -- The number waits quarantineMs from sinceMs: from the release, or from the lease's expiry (not from
        -- when a script noticed it), so a control plane that was down for long does not quarantine anew.
        local function release(name, quarantineMs, sinceMs)
            local record = redis.call('HGET', K.workers, name)
            if record then
                local number = cjson.decode(record).number
                if redis.call('HGET', K.numbers, number) == name then
                    redis.call('HDEL', K.numbers, number)
                    redis.call('ZADD', K.quarantine, string.format('%d', sinceMs + quarantineMs), number)
                    local granted = grantList(redis.call('HGET', K.grantedBy, number))
                    for _, p in ipairs(granted) do
                        if tonumber(redis.call('HGET', K.grants, p)) == number then redis.call('HDEL', K.grants, p) end
                    end
                    redis.call('HDEL', K.grantedBy, number)
                end
            end
            redis.call('HDEL', K.workers, name)
            redis.call('ZREM', K.expiry, name)
            redis.call('INCR', K.membership)
        end

        -- Releases every lease whose expiry has passed; returns how many.
        local function expire(quarantineMs)
            local dead = redis.call('ZRANGEBYSCORE', K.expiry, '-inf', '(' .. string.format('%d', nowMs), 'WITHSCORES')
            for i = 1, #dead, 2 do release(dead[i], quarantineMs, tonumber(dead[i + 1])) end
            redis.call('ZREMRANGEBYSCORE', K.quarantine, '-inf', string.format('%d', nowMs))
            return #dead / 2
        end
        """#

    /// ARGV: name, instance, held CSV, leaseTTL ms, quarantine ms, maxWorkers, consumer-group prefix.
    /// Returns {'granted', number, epoch, expiresAtMs, granted 'partition:grantEpoch' CSV, revokedCSV, assignmentVersion,
    /// expiredCount, isNewLease}
    /// or {'conflict', retryMs, expiredCount} or {'exhausted', retryMs, expiredCount}.
    static let heartbeat = script(
        #"""
        local name, instance = ARGV[1], ARGV[2]
        local held = csvSet(ARGV[3])
        local ttl, quarantineMs, maxWorkers, prefix = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
        local expired = expire(quarantineMs)

        local number, epoch
        local isNew = 0
        local record = redis.call('HGET', K.workers, name)
        if record then
            local w = cjson.decode(record)
            if w.instance ~= instance then
                local until_ = tonumber(redis.call('ZSCORE', K.expiry, name)) or nowMs
                return {'conflict', string.format('%d', math.max(until_ - nowMs, 0)), expired}
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
                return {'exhausted', string.format('%d', math.max(retry, 1)), expired}
            end
            epoch = nextEpoch()
            isNew = 1
            redis.call('HSET', K.numbers, number, name)
            redis.call('HDEL', K.grantedBy, number)
            redis.call('INCR', K.membership)
        end

        -- Grants: keep what is still ours; revoke what moved away (held until the worker lets go);
        -- grant a target partition only when nobody holds a grant on it. Each new grant gets a fresh
        -- epoch, so a partition's fencing token grows with every handoff, whichever lease is older.
        local target, targetList = csvSet(redis.call('HGET', K.targets, number))
        local previous, grantEpochs = grantList(redis.call('HGET', K.grantedBy, number))
        local granted, revoked, keep, seen = {}, {}, {}, {}
        for _, p in ipairs(previous) do
            seen[p] = true
            if target[p] then
                granted[#granted + 1] = p; keep[#keep + 1] = p
            elseif held[p] then
                revoked[#revoked + 1] = p; keep[#keep + 1] = p
            elseif tonumber(redis.call('HGET', K.grants, p)) == number then
                redis.call('HDEL', K.grants, p)
            end
        end
        local grantEpoch
        for _, p in ipairs(targetList) do
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
        local version = tonumber(redis.call('HGET', K.assignment, 'version') or '0')
        redis.call('ZADD', K.expiry, string.format('%d', expiresAt), name)
        redis.call('HSET', K.workers, name, string.format(
            '{"number":%d,"epoch":%.0f,"instance":"%s","expiresAt":"%s","partitions":%d,"consumerGroup":"%s-%d","ringVersion":%d}',
            number, epoch, instance, iso8601(expiresAt), #granted, prefix, number, version))
        return {'granted', number, string.format('%.0f', epoch), string.format('%d', expiresAt), grantCSV(granted, grantEpochs), csv(revoked),
                version, expired, isNew}
        """#)

    /// ARGV: name, instance, quarantine ms. Returns {'released'}, {'conflict'} or {'unknown'}.
    static let release = script(
        #"""
        local record = redis.call('HGET', K.workers, ARGV[1])
        if not record then return {'unknown'} end
        if cjson.decode(record).instance ~= ARGV[2] then return {'conflict'} end
        release(ARGV[1], tonumber(ARGV[3]), nowMs)
        return {'released'}
        """#)

    /// ARGV: quarantine ms. Returns how many leases expired.
    static let reap = script("return expire(tonumber(ARGV[1]))")

    /// ARGV: leader token, lease ms. Takes the leader lease if free, renews it if ours. Returns 1 if we lead.
    static let lead = script(
        #"""
        local current = redis.call('GET', K.leader)
        if not current then
            redis.call('SET', K.leader, ARGV[1], 'PX', ARGV[2])
            return 1
        elseif current == ARGV[1] then
            redis.call('PEXPIRE', K.leader, ARGV[2])
            return 1
        end
        return 0
        """#)

    /// ARGV: none. Returns {membershipVersion, number, number, ...}: one consistent read for the rebalancer.
    static let members = script(
        #"""
        local result = {tonumber(redis.call('GET', K.membership) or '0')}
        for _, n in ipairs(redis.call('HKEYS', K.numbers)) do result[#result + 1] = tonumber(n) end
        return result
        """#)

    /// ARGV: leader token, membership version computed from, owners CSV (empty fields for unowned),
    /// members CSV, then pairs (number, partitions CSV). Publishes the targets only if the caller still
    /// leads and the membership has not changed since. Returns the new assignment version, or -1 (stale) / -2 (not leader).
    static let publish = script(
        #"""
        if redis.call('GET', K.leader) ~= ARGV[1] then return -2 end
        if tonumber(redis.call('GET', K.membership) or '0') ~= tonumber(ARGV[2]) then return -1 end
        local version = redis.call('HINCRBY', K.assignment, 'version', 1)
        redis.call('HSET', K.assignment, 'membership', ARGV[2], 'owners', ARGV[3], 'members', ARGV[4])
        redis.call('DEL', K.targets)
        for i = 5, #ARGV, 2 do
            redis.call('HSET', K.targets, ARGV[i], ARGV[i + 1])
        end
        return version
        """#)
}
