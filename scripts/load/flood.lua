-- wrk: one caller flooding: every request a heartbeat of the worker FLOOD_NAME with the bearer token
-- TOKEN, each connection waiting DELAY_MS between requests (connections x 1000 / DELAY_MS requests/s).
local name = os.getenv("FLOOD_NAME") or "flooder"
local delay_ms = tonumber(os.getenv("DELAY_MS") or "10")
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. os.getenv("TOKEN") }
local statuses = {}

request = function()
    return wrk.format("POST", "/v1/workers/" .. name .. "/heartbeat", headers, '{"instance":"flood"}')
end

delay = function() return delay_ms end

response = function(status)
    statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary)
    io.write(string.format("flood: %d requests in %.1f s (%.0f/s)\n", summary.requests, summary.duration / 1e6,
        summary.requests / (summary.duration / 1e6)))
end
