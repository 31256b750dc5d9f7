--[[
  Partition grants of one number, settled against the published layout at every heartbeat.
  Needs: lists, epochs.
  Defines: settleGrants(number, kind, held, heldList, heldEpochs, inRecovery).
]]

-- Keeps what is still the number's; revokes what moved away (held until the worker lets go); grants a
-- partition of its share only when nobody holds a grant on it. Each new grant gets a fresh epoch, so a
-- partition's fencing token grows with every handoff, whichever lease is older. A number the published
-- layout does not mention (the layout was lost with Redis's data, or is not yet republished) keeps its
-- grants: revoking them would stop work for no one's benefit.
-- `held` is the set of partitions the worker reports holding (`heldList` sorted, `heldEpochs` the grant
-- epochs it reported). Writes K.grants and K.grantedBy; returns the grants (sorted), their epochs
-- (partition -> epoch) and the partitions revoked (sorted).
local function settleGrants(number, kind, held, heldList, heldEpochs, inRecovery)
    local shareText = redis.call('HGET', K.layoutByNumber, number)
    if kind == 'numberOnly' then shareText = '' end
    local share, shareList = csvSet(shareText)
    local previous, grantEpochs = grantList(redis.call('HGET', K.grantedBy, number))
    if inRecovery and kind == 'worker' then
        -- The store may have lost grants: the worker's own, reported with their epochs, are taken back
        -- when nobody else holds them.
        local known = {}
        for _, p in ipairs(previous) do known[p] = true end
        for _, p in ipairs(heldList) do
            local e = heldEpochs[p]
            if e and not known[p] then
                local owner = redis.call('HGET', K.grants, p)
                if not owner or tonumber(owner) == number then
                    redis.call('HSET', K.grants, p, number)
                    previous[#previous + 1] = p; grantEpochs[p] = e
                    raiseEpoch(e)
                end
            end
        end
        -- A stored grant the worker does not report held may have moved to another in the lost writes
        -- (a failover loses what the old primary wrote after the promotion): answering it would be a new
        -- grant of something another worker may believe it holds. It waits for the end of recovery.
        local kept = {}
        for _, p in ipairs(previous) do
            if held[p] then
                kept[#kept + 1] = p
            elseif tonumber(redis.call('HGET', K.grants, p)) == number then
                redis.call('HDEL', K.grants, p)
            end
        end
        previous = kept
    end
    local granted, revoked, keep, seen = {}, {}, {}, {}
    for _, p in ipairs(previous) do
        seen[p] = true
        if share[p] or not shareText then
            granted[#granted + 1] = p; keep[#keep + 1] = p
        elseif held[p] then
            revoked[#revoked + 1] = p; keep[#keep + 1] = p
        elseif tonumber(redis.call('HGET', K.grants, p)) == number then
            redis.call('HDEL', K.grants, p)
        end
    end
    -- No new grant while lost state is waited out: another worker may still believe it holds it.
    local grantEpoch
    if not inRecovery and kind == 'worker' then
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
    end
    for _, p in ipairs(heldList) do
        if not seen[p] then revoked[#revoked + 1] = p end
    end
    table.sort(granted); table.sort(revoked); table.sort(keep)
    redis.call('HSET', K.grantedBy, number, grantCSV(keep, grantEpochs))
    return granted, grantEpochs, revoked
end
