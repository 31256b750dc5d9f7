--[[
  Lost state, detected and waited out.
  Needs: clock, events.
  Defines: beginRecovery(waitMs), checkStore(waitMs).
]]

-- Lost state is waited out until `waitMs` from now (a lease TTL, plus the primary lease with Sentinels):
-- no new number or grant is handed out before then (numbers wait a quarantine longer), so nothing a
-- worker may still believe safe goes to another.
local function beginRecovery(waitMs)
    local untilMs = math.max(tonumber(redis.call('GET', K.recovery) or '0'), nowMs + waitMs)
    redis.call('SET', K.recovery, string.format('%d', untilMs))
    event('kind', 'recovery', 'until', iso8601(untilMs))
    return untilMs
end

-- Detects lost state. The generation names the Redis process that wrote the lease state (its run_id)
-- and when it began: `runID:µs`. Missing, or written by another process (Redis restarted, failed over,
-- or was replaced by an empty one), the store may have lost acknowledged writes, and recovery begins.
-- Always: an empty store cannot be told from a wiped one by a replica that never saw it (scripts/chaos
-- found a replica restarted just before a wipe leasing numbers live workers held), so a fresh install
-- waits one lease TTL plus the quarantine too.
-- Returns the generation and the end of recovery (ms; in the past when none is running).
local function checkStore(waitMs)
    local runId = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
    local generation = redis.call('GET', K.generation)
    if not generation or string.sub(generation, 1, #runId + 1) ~= runId .. ':' then
        generation = runId .. ':' .. string.format('%.0f', nowUs)
        redis.call('SET', K.generation, generation)
        beginRecovery(waitMs)
    end
    return generation, tonumber(redis.call('GET', K.recovery) or '0')
end
