--[[
  lead: takes the leader lease of the installation if it is free, renews it if `token` holds it. The
  leader works the pool schedule (reaps and publishes layouts) for every pool.

  KEYS: every ControlKey, as K.
  ARGV, as A (LeadScript.Argument):
    token          the replica's leader token
    leaseMs        how long the leader lease lasts unrenewed
  REPLY, field/value pairs (LeadScript.Field):
    leads          1 while the token holds the leader lease, else 0
    taken          1 when this run took the lease (it was free): the new leader looks at every pool
  CHANGES: K.leader (SET PX or PEXPIRE).
  IDEMPOTENT: yes. Taking or renewing twice is the same.
]]

local current = redis.call('GET', K.leader)
if not current then
    redis.call('SET', K.leader, A.token, 'PX', A.leaseMs)
    return {'leads', 1, 'taken', 1}
elseif current == A.token then
    redis.call('PEXPIRE', K.leader, A.leaseMs)
    return {'leads', 1, 'taken', 0}
end
return {'leads', 0, 'taken', 0}
