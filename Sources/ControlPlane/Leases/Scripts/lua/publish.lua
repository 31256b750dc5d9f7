--[[
  publish: makes a layout the published one. A count layout (no basis), once per membership version:
  if the membership it was computed from is still current and no layout was published for it (and
  this partition count) yet. The layout is a function of the members, the partition count and
  epsilon, so whichever replica publishes first publishes what any other would; a second publication
  would only bump the version. A load round's layout (basis given) only over the version it was
  computed from, for the current membership: two leaders' rounds cannot both land.

  KEYS: every LeaseKey, as K.
  ARGV, as A (PublishScript.Argument), then pairs (number, its partitions CSV) after the named ones:
    membership     the membership version the layout was computed from
    partitions     the partition count
    owners         the owner of every partition, CSV, an empty field for an unowned one
    members        the numbers of the layout, CSV
    moved          how many partitions it moves (for the event stream)
    basis          a load round: the published version it was computed from; empty for a count layout
  REPLY, field/value pairs (PublishScript.Field):
    outcome        published | stale (the membership moved on: compute again) | current (published already)
    version        published: the new layout version
  CHANGES: published: K.layout (version bumped), K.layoutByNumber rewritten, an event.
  IDEMPOTENT: no. A run that publishes bumps the version (a second run answers current).
]]
--- @include "includes/events"

if tonumber(redis.call('GET', K.membership) or '0') ~= tonumber(A.membership) then return {'outcome', 'stale'} end
local stored = redis.call('HMGET', K.layout, 'membership', 'partitions', 'version')
if A.basis ~= '' then
    if tonumber(stored[3] or '0') ~= tonumber(A.basis) or tonumber(stored[1]) ~= tonumber(A.membership) then
        return {'outcome', 'stale'}
    end
elseif tonumber(stored[1]) == tonumber(A.membership) and tonumber(stored[2]) == tonumber(A.partitions) then
    return {'outcome', 'current'}
end
local version = redis.call('HINCRBY', K.layout, 'version', 1)
redis.call('HSET', K.layout, 'membership', A.membership, 'partitions', A.partitions, 'owners', A.owners, 'members', A.members)
redis.call('DEL', K.layoutByNumber)
for i = ARGC + 1, #ARGV, 2 do
    redis.call('HSET', K.layoutByNumber, ARGV[i], ARGV[i + 1])
end
local members = 0
for _ in string.gmatch(A.members, '%d+') do members = members + 1 end
event('kind', 'layout', 'version', string.format('%d', version), 'moved', A.moved, 'members', string.format('%d', members))
return {'outcome', 'published', 'version', version}
