--[[
  Fencing epochs: leases and partition grants draw from one counter, K.epoch, which only grows.
  Needs: clock.
  Defines: nextEpoch(), raiseEpoch(epoch).
]]

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
