--[[
  The one clock of lease expiry: Redis TIME, read once per run. Every control-plane replica agrees on
  expiry because none reads its own clock; Redis 7 replicates script effects, not the script, so a
  replica never reads a clock of its own either.
  Defines: nowMs, nowUs (Redis time in milliseconds and microseconds), iso8601(ms).
]]
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])

-- `ms` since 1970 as an RFC 3339 UTC timestamp with milliseconds.
local function iso8601(ms)
    local days = math.floor(ms / 86400000)
    local rem = ms - days * 86400000
    -- civil_from_days (Howard Hinnant)
    local z = days + 719468
    local era = math.floor(z / 146097)
    local doe = z - era * 146097
    local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
    local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
    local mp = math.floor((5 * doy + 2) / 153)
    local d = doy - math.floor((153 * mp + 2) / 5) + 1
    local m = mp < 10 and mp + 3 or mp - 9
    local y = yoe + era * 400 + (m <= 2 and 1 or 0)
    return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', y, m, d, math.floor(rem / 3600000),
        math.floor(rem / 60000) % 60, math.floor(rem / 1000) % 60, rem % 1000)
end
