-- wrk: heartbeats from NAMES distinct workers (default 1000), as heartbeat.lua, each with its own bearer
-- token: line i of the file TOKENS is worker w-%012d's (i counted from 0). TOKEN instead: one for all.
local names = tonumber(os.getenv("NAMES") or "1000")
local counter = 0
local tokens = {}
local single = os.getenv("TOKEN")
if os.getenv("TOKENS") then
    for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
end

request = function()
    counter = counter + 1
    local index = counter % names
    local token = single or tokens[index + 1]
    local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
    return wrk.format("POST", string.format("/v1/workers/w-%012d/heartbeat", index), headers, '{"instance":"bench"}')
end
