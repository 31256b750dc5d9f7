--[[
  publish: makes a layout the published one, if the caller still leads and the membership it was
  computed from is still current.

  KEYS: every LeaseKey, as K.
  ARGV, as A (PublishScript.Argument), then pairs (number, its partitions CSV) after the named ones:
    token          the leader token of the caller
    membership     the membership version the layout was computed from
    owners         the owner of every partition, CSV, an empty field for an unowned one
    members        the numbers of the layout, CSV
    moved          how many partitions it moves (for the event stream)
  REPLY, field/value pairs (PublishScript.Field):
    outcome        published | stale (the membership moved on: compute again) | notLeader
    version        published: the new layout version
  CHANGES: published: K.layout (version bumped), K.layoutByNumber rewritten, an event.
  IDEMPOTENT: no. Every run bumps the version.
]]
--- @include "includes/events"

if redis.call('GET', K.leader) ~= A.token then return {'outcome', 'notLeader'} end
if tonumber(redis.call('GET', K.membership) or '0') ~= tonumber(A.membership) then return {'outcome', 'stale'} end
local version = redis.call('HINCRBY', K.layout, 'version', 1)
redis.call('HSET', K.layout, 'membership', A.membership, 'owners', A.owners, 'members', A.members)
redis.call('DEL', K.layoutByNumber)
for i = ARGC + 1, #ARGV, 2 do
    redis.call('HSET', K.layoutByNumber, ARGV[i], ARGV[i + 1])
end
local members = 0
for _ in string.gmatch(A.members, '%d+') do members = members + 1 end
event('kind', 'layout', 'version', string.format('%d', version), 'moved', A.moved, 'members', string.format('%d', members))
return {'outcome', 'published', 'version', version}
