--[[
  release: frees the number and partitions of a name at once, if `instance` holds it (graceful drain).

  KEYS: every LeaseKey, as K.
  ARGV, as A (ReleaseScript.Argument):
    name           the worker's name
    instance       the instance that releases; only the holder may
    quarantineMs   how long the number waits before it is leased again
  REPLY, field/value pairs (ReleaseScript.Field):
    outcome        released | conflict (another instance holds the name) | unknown (no live lease)
  CHANGES: released: the lease ends as an expiry would (number quarantined, grants freed, membership
    bumped, the instance's sequence retired, an event).
  IDEMPOTENT: no. A second run answers unknown.
]]
--- @include "includes/clock"
--- @include "includes/lists"
--- @include "includes/events"
--- @include "includes/release"

local record = redis.call('HGET', K.workers, A.name)
if not record then return {'outcome', 'unknown'} end
if cjson.decode(record).instance ~= A.instance then return {'outcome', 'conflict'} end
release(A.name, tonumber(A.quarantineMs), nowMs, 'released')
return {'outcome', 'released'}
