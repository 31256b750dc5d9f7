--[[
  The event stream K.events (the status page's "recent events"). Only rare changes are recorded (a
  lease begins or ends, a layout is published, recovery begins), never a renewal, so the heartbeat
  path writes nothing here. An entry's id is Redis's clock.
  Defines: event(field, value, …).
]]
local function event(...)
    redis.call('XADD', K.events, 'MAXLEN', '~', '500', '*', ...)
end
