--[[
  members: the membership version and the partition workers' numbers at that version, in one
  consistent read (number-only leases are never members).

  KEYS: every LeaseKey, as K.
  ARGV: none.
  REPLY, field/value pairs (MembersScript.Field):
    membership     the membership version
    numbers        the members' numbers, CSV
  CHANGES: nothing.
  IDEMPOTENT: yes (read-only).
]]

local members = {}
for _, number in ipairs(redis.call('HKEYS', K.numbers)) do
    if redis.call('SISMEMBER', K.numberOnly, number) == 0 then members[#members + 1] = number end
end
return {'membership', tonumber(redis.call('GET', K.membership) or '0'), 'numbers', table.concat(members, ',')}
