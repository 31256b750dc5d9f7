--[[
  How a lease ends: released by its instance, or expired.
  Needs: clock, lists, events.
  Defines: release(name, quarantineMs, sinceMs, why), expire(quarantineMs).
]]

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
