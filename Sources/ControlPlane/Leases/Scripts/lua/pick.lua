--[[
  pick: takes the pools that are due from the pool schedule, at most `limit`, earliest first. The
  caller looks at each (reap, layout) and puts it back with ZADD LT when it next needs a look; a
  mark made meanwhile (a join, a release) is lower and stays.

  KEYS: every ControlKey, as K.
  ARGV, as A (PickScript.Argument):
    limit          at most this many pools
  REPLY, field/value pairs (PickScript.Field):
    pools          the pools taken, CSV
    more           1 when more pools are due than were taken
  CHANGES: K.due (the pools taken are removed).
  IDEMPOTENT: no. A second run takes the next pools.
]]
--- @include "includes/clock"

local due = redis.call('ZRANGEBYSCORE', K.due, '-inf', string.format('%d', nowMs), 'LIMIT', 0, tonumber(A.limit) + 1)
local more = #due > tonumber(A.limit)
if more then due[#due] = nil end
if #due > 0 then redis.call('ZREM', K.due, unpack(due)) end
return {'pools', table.concat(due, ','), 'more', more and 1 or 0}
