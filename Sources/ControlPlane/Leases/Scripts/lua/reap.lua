--[[
  reap: releases every lease past its expiry, also when no heartbeat arrives, and notices a store that
  lost its state (so recovery begins even before a worker asks). Each control-plane replica runs it
  once per heartbeat interval.

  KEYS: every LeaseKey, as K.
  ARGV, as A (ReapScript.Argument):
    quarantineMs   how long an expired lease's number waits before it is leased again
    leaseTTLMs     how long recovery waits when the store lost state
  REPLY, field/value pairs (ReapScript.Field):
    expired        the leases it released
    live           the live leases left
    numberOnly     of them, the number-only ones
    generation     the store generation
  CHANGES: what expiry changes (see includes/release); K.generation and K.recovery when state was lost.
  IDEMPOTENT: yes. A second run finds nothing more to release.
]]
--- @include "includes/clock"
--- @include "includes/lists"
--- @include "includes/events"
--- @include "includes/recovery"
--- @include "includes/release"

local generation = checkStore(tonumber(A.leaseTTLMs))
local expired = expire(tonumber(A.quarantineMs))
return {'expired', expired, 'live', redis.call('HLEN', K.workers), 'numberOnly', redis.call('SCARD', K.numberOnly),
    'generation', generation}
