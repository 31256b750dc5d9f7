/// The Lua every lease script starts with: the key table `K` (generated from `LeaseKey`), the clock,
/// and the helpers the scripts share.
///
/// Every script reads the clock with Redis `TIME`, so any number of control-plane replicas agree on
/// expiry; Redis 7 replicates script effects, not the script, so replicas never re-read a clock.
/// Numbers that can exceed 14 significant digits are formatted with `%d`/`%.0f`, never by Lua's
/// default formatting or cjson's, which round them.
enum LuaPrelude {
    /// `local K = {workers = KEYS[1], …}` in `LeaseKey.allCases` order.
    static let keyTable =
        "local K = {"
        + LeaseKey.allCases.enumerated().map { index, key in "\(key.rawValue) = KEYS[\(index + 1)]" }.joined(separator: ", ") + "}"

    static let source = keyTable + "\n" + helpers

    private static let helpers = #"""
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

        -- Appends one entry to the event stream (the status page's "recent events"); its id is Redis's clock.
        -- Only rare changes are recorded (a lease begins or ends, a layout is published, recovery begins),
        -- never a renewal, so the heartbeat path writes nothing here.
        local function event(...)
            redis.call('XADD', K.events, 'MAXLEN', '~', '500', '*', ...)
        end

        -- The next fencing epoch: larger than every epoch issued before, also after a failover lost the newest.
        local function nextEpoch()
            local epoch = math.max(tonumber(redis.call('GET', K.epoch) or '0') + 1, nowUs)
            redis.call('SET', K.epoch, string.format('%.0f', epoch))
            return epoch
        end

        -- Raises the epoch counter to at least `epoch`, an epoch a worker reports: a store that lost writes
        -- (or a promoted replica whose clock runs behind) never issues an epoch below one already in use.
        local function raiseEpoch(epoch)
            if epoch > tonumber(redis.call('GET', K.epoch) or '0') then redis.call('SET', K.epoch, string.format('%.0f', epoch)) end
        end

        -- Lost state is waited out until `ttl` from now: no new number or grant is handed out before then
        -- (numbers wait a quarantine longer), so nothing a worker may still believe safe goes to another.
        local function beginRecovery(ttl)
            local untilMs = math.max(tonumber(redis.call('GET', K.recovery) or '0'), nowMs + ttl)
            redis.call('SET', K.recovery, string.format('%d', untilMs))
            event('kind', 'recovery', 'until', iso8601(untilMs))
            return untilMs
        end

        -- Detects lost state. The generation names the Redis process that wrote the lease state (its
        -- run_id). Missing, or written by another process (Redis restarted, failed over, or was replaced
        -- by an empty one), the store may have lost acknowledged writes, and recovery begins. Always: an
        -- empty store cannot be told from a wiped one by a replica that never saw it (scripts/chaos found a
        -- replica restarted just before a wipe leasing numbers live workers held), so a fresh install
        -- waits one lease TTL plus the quarantine too.
        -- Returns the generation and the end of recovery (ms; in the past when none is running).
        local function checkStore(ttl)
            local runId = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
            local generation = redis.call('GET', K.generation)
            if not generation or string.sub(generation, 1, #runId + 1) ~= runId .. ':' then
                generation = runId .. ':' .. string.format('%.0f', nowUs)
                redis.call('SET', K.generation, generation)
                beginRecovery(ttl)
            end
            return generation, tonumber(redis.call('GET', K.recovery) or '0')
        end

        -- Frees a worker's number (quarantined), its grants and its entry in the operator view.
        -- The number waits quarantineMs from sinceMs: from the release, or from the lease's expiry (not from
        -- when a script noticed it), so a control plane that was down for long does not quarantine anew.
        -- `why` ('released' or 'expired') names the event recorded.
        local function release(name, quarantineMs, sinceMs, why)
            local record = redis.call('HGET', K.workers, name)
            local member = true
            if record then
                local w = cjson.decode(record)
                local number = w.number
                event('kind', why, 'name', name, 'number', string.format('%d', number), 'epoch', string.format('%.0f', w.epoch),
                    'lease', w.kind or 'worker')
                -- Remember the instance's last sequence: a late request of it must not lease anew.
                redis.call('HSET', K.retired, name .. ' ' .. w.instance, string.format('%.0f:%d', w.sequence or 0, number))
                redis.call('ZADD', K.retiredAt, string.format('%d', nowMs), name .. ' ' .. w.instance)
                if redis.call('HGET', K.numbers, number) == name then
                    redis.call('HDEL', K.numbers, number)
                    -- A number-only lease was never a member of the layout: its end changes no membership.
                    member = redis.call('SREM', K.numberOnly, number) == 0
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
            if member then redis.call('INCR', K.membership) end
        end

        -- Releases every lease whose expiry has passed; returns how many.
        local function expire(quarantineMs)
            local dead = redis.call('ZRANGEBYSCORE', K.expiry, '-inf', '(' .. string.format('%d', nowMs), 'WITHSCORES')
            for i = 1, #dead, 2 do release(dead[i], quarantineMs, tonumber(dead[i + 1]), 'expired') end
            redis.call('ZREMRANGEBYSCORE', K.quarantine, '-inf', string.format('%d', nowMs))
            -- Ended leases are remembered for 10 minutes, at most 100 forgotten per run.
            local forgotten = redis.call('ZRANGEBYSCORE', K.retiredAt, '-inf', string.format('(%d', nowMs - 600000), 'LIMIT', 0, 100)
            for _, lease in ipairs(forgotten) do
                redis.call('HDEL', K.retired, lease)
                redis.call('ZREM', K.retiredAt, lease)
            end
            return #dead / 2
        end
        """#
}
