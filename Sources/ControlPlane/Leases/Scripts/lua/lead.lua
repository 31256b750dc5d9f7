--[[
  lead: takes the rebalancer's leader lease if it is free, renews it if `token` holds it.

  KEYS: every LeaseKey, as K.
  ARGV, as A (LeadScript.Argument):
    token          the replica's leader token
    leaseMs        how long the leader lease lasts unrenewed
  REPLY, field/value pairs (LeadScript.Field):
    leads          1 while the token holds the leader lease, else 0
  CHANGES: K.leader (SET PX or PEXPIRE).
  IDEMPOTENT: yes. Taking or renewing twice is the same.
]]

local current = redis.call('GET', K.leader)
if not current then
    redis.call('SET', K.leader, A.token, 'PX', A.leaseMs)
    return {'leads', 1}
elseif current == A.token then
    redis.call('PEXPIRE', K.leader, A.leaseMs)
    return {'leads', 1}
end
return {'leads', 0}
