--[[
  register: records a pool created on first use (autoCreate), if fewer than `limit` are.

  KEYS: every ControlKey, as K.
  ARGV, as A (RegisterScript.Argument):
    pool           the pool's name
    limit          at most this many pools are created on first use
  REPLY, field/value pairs (RegisterScript.Field):
    registered     1 when the pool is registered (now or before), 0 when the limit refused it
  CHANGES: K.autoPools.
  IDEMPOTENT: yes. A second run finds the pool registered.
]]

if redis.call('SISMEMBER', K.autoPools, A.pool) == 1 then return {'registered', 1} end
if redis.call('SCARD', K.autoPools) >= tonumber(A.limit) then return {'registered', 0} end
redis.call('SADD', K.autoPools, A.pool)
return {'registered', 1}
