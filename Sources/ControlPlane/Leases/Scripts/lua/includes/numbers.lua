--[[
  Numbers: the lowest free one is leased; a claimed one is adopted back while lost state is waited out.
  Needs: clock, epochs.
  Defines: lowestFreeNumber(maxWorkers), exhaustedRetryMs(ttl), isAdoptable(claimNumber, maxWorkers, retiredNumber).
]]

-- The lowest number below maxWorkers that nobody holds and that is out of quarantine, or nil.
local function lowestFreeNumber(maxWorkers)
    for candidate = 0, maxWorkers - 1 do
        if redis.call('HEXISTS', K.numbers, candidate) == 0 and not redis.call('ZSCORE', K.quarantine, candidate) then
            return candidate
        end
    end
    return nil
end

-- When no number is free: how long until one may be (a quarantine ends or a lease expires), at most ttl.
local function exhaustedRetryMs(ttl)
    local retry = ttl
    local q = redis.call('ZRANGE', K.quarantine, 0, 0, 'WITHSCORES')
    if q[2] then retry = math.min(retry, tonumber(q[2]) - nowMs) end
    local e = redis.call('ZRANGE', K.expiry, 0, 0, 'WITHSCORES')
    if e[2] then retry = math.min(retry, tonumber(e[2]) - nowMs) end
    return math.max(retry, 1)
end

-- Whether a worker's claimed number may be adopted back: in range, held by nobody, and out of
-- quarantine unless the quarantine is its own lease's (the retired lease of the same name and instance).
local function isAdoptable(claimNumber, maxWorkers, retiredNumber)
    return claimNumber < maxWorkers and redis.call('HEXISTS', K.numbers, claimNumber) == 0
        and (not redis.call('ZSCORE', K.quarantine, claimNumber) or retiredNumber == claimNumber)
end
