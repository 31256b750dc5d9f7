--[[
  heartbeat: renews or leases the number of a name, then settles the worker's partition grants against
  the published layout. Every worker runs it once per heartbeat interval.

  KEYS: every LeaseKey, as K.
  ARGV, as A (HeartbeatScript.Argument):
    name           the worker's name
    instance       the process's instance id; another live instance of the name is refused
    held           the partitions the worker holds: CSV of `p` or `p:grantEpoch`
    leaseTTLMs     the lease TTL
    quarantineMs   how long an ended lease's number waits before it is leased again
    maxWorkers     numbers are 0..maxWorkers-1
    groupStem      the consumer-group name before the number (ConsumerGroup.stem)
    sequence       the request's sequence; empty from clients that send none
    claimNumber    the number the worker believes it holds; empty when it holds none
    claimEpoch     that lease's epoch; empty when it holds none
    kind           worker | numberOnly; fixed when the lease is made
    recoveryMs     how long recovery waits when the store lost state: the lease TTL, plus the primary
                   lease with Sentinels
  REPLY, field/value pairs (HeartbeatScript.Field):
    outcome        leased | conflict | exhausted | recovering | stale | kindMismatch
    expired        leases found past their expiry and released on the way
    retryAfterMs   conflict, exhausted, recovering: when to ask again
    number         leased: the number
    epoch          leased: the lease's fencing epoch, a decimal string
    grants         leased: `p:grantEpoch` CSV of the partitions it may process
    revoked        leased: CSV of the partitions it must stop
    layoutVersion  leased: the published layout's version
    newLease       leased: 1 when the number was leased by this run
    adopted        leased: 1 when the store had lost the lease and took the worker's claim back
    generation     leased: the store generation, for the worker to report back
    kind           leased: the lease's kind
  CHANGES: expires leases past their TTL; leases a number (K.numbers, K.epoch, K.membership or
    K.numberOnly, an event); settles grants (K.grants, K.grantedBy); renews K.expiry and the workers
    record. Begins recovery when the store lost state (K.generation, K.recovery).
  IDEMPOTENT: no. A second run may lease a number anew; a second run with the same sequence answers stale.
]]
--- @include "includes/clock"
--- @include "includes/lists"
--- @include "includes/events"
--- @include "includes/epochs"
--- @include "includes/recovery"
--- @include "includes/release"
--- @include "includes/numbers"
--- @include "includes/grants"

local name, instance, kind = A.name, A.instance, A.kind
local held, heldEpochs, heldList = {}, {}, {}
for p, e in string.gmatch(A.held, '(%d+):?(%d*)') do
    local n = tonumber(p)
    if not held[n] then held[n] = true; heldList[#heldList + 1] = n end
    if e ~= '' then heldEpochs[n] = tonumber(e) end
end
table.sort(heldList)
local ttl, quarantineMs, maxWorkers = tonumber(A.leaseTTLMs), tonumber(A.quarantineMs), tonumber(A.maxWorkers)
local sequence, claimNumber, claimEpoch = tonumber(A.sequence), tonumber(A.claimNumber), tonumber(A.claimEpoch)
local generation, recoveryUntil = checkStore(tonumber(A.recoveryMs))
local expired = expire(quarantineMs)

local function refused(outcome, retryAfterMs)
    if not retryAfterMs then return {'outcome', outcome, 'expired', expired} end
    return {'outcome', outcome, 'expired', expired, 'retryAfterMs', string.format('%d', math.max(retryAfterMs, 0))}
end

local number, epoch
local isNew, adopted, joined, lastSequence = false, false, false, sequence or 0
local record = redis.call('HGET', K.workers, name)
if record then
    local w = cjson.decode(record)
    if w.instance ~= instance then
        local until_ = tonumber(redis.call('ZSCORE', K.expiry, name)) or nowMs
        return refused('conflict', until_ - nowMs)
    end
    -- A late, duplicated or reordered request changes nothing.
    if sequence and w.sequence and sequence <= w.sequence then return refused('stale') end
    if (w.kind or 'worker') ~= kind then return refused('kindMismatch') end
    number, epoch = w.number, w.epoch
    lastSequence = math.max(lastSequence, w.sequence or 0)
else
    local retiredSequence, retiredNumber
    local retired = redis.call('HGET', K.retired, name .. ' ' .. instance)
    if retired then
        local s, n = string.match(retired, '(%d+):(%d+)')
        retiredSequence, retiredNumber = tonumber(s), tonumber(n)
    end
    if sequence and retiredSequence and sequence <= retiredSequence then return refused('stale') end
    -- While lost state is waited out, a worker that still believes its lease (number and epoch) may
    -- re-adopt it if nobody holds it. A claim alone never starts recovery: any client could send one.
    if claimNumber and claimEpoch and nowMs < recoveryUntil then
        if not isAdoptable(claimNumber, maxWorkers, retiredNumber) then
            return refused('recovering', math.max(recoveryUntil + quarantineMs - nowMs, 1))
        end
        number, epoch, adopted = claimNumber, claimEpoch, true
        raiseEpoch(claimEpoch)
        redis.call('ZREM', K.quarantine, number)
        redis.call('HSET', K.numbers, number, name)
        redis.call('HDEL', K.grantedBy, number)
        joined = true
    end
    if not number then
        if nowMs < recoveryUntil + quarantineMs then
            return refused('recovering', math.max(recoveryUntil + quarantineMs - nowMs, 1))
        end
        number = lowestFreeNumber(maxWorkers)
        if not number then return refused('exhausted', exhaustedRetryMs(ttl)) end
        epoch = nextEpoch()
        isNew = true
        redis.call('HSET', K.numbers, number, name)
        redis.call('HDEL', K.grantedBy, number)
        joined = true
    end
end
-- A number-only lease never joins the layout, so it changes no membership.
if joined then
    if kind == 'numberOnly' then redis.call('SADD', K.numberOnly, number) else redis.call('INCR', K.membership) end
end
if isNew or adopted then
    event('kind', isNew and 'leased' or 'adopted', 'name', name, 'number', string.format('%d', number),
        'epoch', string.format('%.0f', epoch), 'lease', kind)
end

local granted, grantEpochs, revoked = settleGrants(number, kind, held, heldList, heldEpochs, nowMs < recoveryUntil)

local expiresAt = nowMs + ttl
local version = tonumber(redis.call('HGET', K.layout, 'version') or '0')
redis.call('ZADD', K.expiry, string.format('%d', expiresAt), name)
redis.call('HSET', K.workers, name, encodeRecord({
    number = number, epoch = epoch, instance = instance, expiresAt = iso8601(expiresAt), partitions = #granted,
    consumerGroup = A.groupStem .. string.format('%d', number), layoutVersion = version, sequence = lastSequence, kind = kind,
}))
return {'outcome', 'leased', 'expired', expired, 'number', number, 'epoch', string.format('%.0f', epoch),
    'grants', grantCSV(granted, grantEpochs), 'revoked', csv(revoked), 'layoutVersion', version,
    'newLease', isNew and 1 or 0, 'adopted', adopted and 1 or 0, 'generation', generation, 'kind', kind}
