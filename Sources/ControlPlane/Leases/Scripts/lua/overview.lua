--[[
  overview: one consistent read of everything the status page shows. It neither expires leases nor
  checks the store, so it is safe on any replica's schedule.

  KEYS: every LeaseKey, as K.
  ARGV, as A (OverviewScript.Argument):
    eventCount     how many events, newest first
  REPLY, field/value pairs (OverviewScript.Field):
    nowMs          Redis's clock
    workers        HGETALL workers
    expiry         (name, ms) pairs
    grantedBy      HGETALL granted-by: the partitions each number holds a grant on (a few fields, not
                   one per partition as K.grants has)
    quarantine     (number, ms) pairs
    layoutVersion  the published layout's version, 0 before the first
    owners         its owners CSV, empty before the first
    recoveryMs     until when lost state is waited out (ms)
    generation     the store generation, empty before the first
    events         XREVRANGE of the event stream
  CHANGES: nothing.
  IDEMPOTENT: yes (read-only).
]]
--- @include "includes/clock"

local layout = redis.call('HMGET', K.layout, 'version', 'owners')
return {
    'nowMs', string.format('%d', nowMs),
    'workers', redis.call('HGETALL', K.workers),
    'expiry', redis.call('ZRANGE', K.expiry, 0, -1, 'WITHSCORES'),
    'grantedBy', redis.call('HGETALL', K.grantedBy),
    'quarantine', redis.call('ZRANGE', K.quarantine, 0, -1, 'WITHSCORES'),
    'layoutVersion', layout[1] or '0',
    'owners', layout[2] or '',
    'recoveryMs', redis.call('GET', K.recovery) or '0',
    'generation', redis.call('GET', K.generation) or '',
    'events', redis.call('XREVRANGE', K.events, '+', '-', 'COUNT', A.eventCount),
}
