--[[
  reap: releases every lease past its expiry, also when no heartbeat arrives, and notices a store that
  lost its state (so recovery begins even before a worker asks), and says when the pool next needs a
  look and whether its published layout is current. The leader runs it for the pools that are due
  (docs/design.md, "Pools": "The pool schedule").

  KEYS: every LeaseKey, as K.
  ARGV, as A (ReapScript.Argument):
    quarantineMs   how long an expired lease's number waits before it is leased again
    recoveryMs     how long recovery waits when the store lost state: the lease TTL, plus the primary
                   lease with Sentinels
    partitions     the pool's partition count; 0 for a pool of numbers only
  REPLY, field/value pairs (ReapScript.Field):
    expired        the leases it released
    live           the live leases left
    numberOnly     of them, the number-only ones
    generation     the store generation
    nowMs          Redis time
    dueMs          the earliest expiry of a live lease (ms); 0 with no live lease
    layoutCurrent  1 when the published layout is for the current membership and partition count
  CHANGES: what expiry changes (see includes/release); K.generation and K.recovery when state was lost.
  IDEMPOTENT: yes. A second run finds nothing more to release.
]]
--- @include "includes/clock"
--- @include "includes/lists"
--- @include "includes/events"
--- @include "includes/recovery"
--- @include "includes/release"

local generation = checkStore(tonumber(A.recoveryMs))
local expired = expire(tonumber(A.quarantineMs))
local first = redis.call('ZRANGE', K.expiry, 0, 0, 'WITHSCORES')
local dueMs = first[2] and tonumber(first[2]) or 0
local published = redis.call('HMGET', K.layout, 'membership', 'partitions')
local membership = redis.call('GET', K.membership) or '0'
local current = (published[1] or '0') == membership and tonumber(published[2]) == tonumber(A.partitions)
-- A pool of numbers only has no layout to publish.
if tonumber(A.partitions) == 0 then current = true end
return {'expired', expired, 'live', redis.call('HLEN', K.workers), 'numberOnly', redis.call('SCARD', K.numberOnly),
    'generation', generation, 'nowMs', nowMs, 'dueMs', string.format('%d', dueMs), 'layoutCurrent', current and 1 or 0}
