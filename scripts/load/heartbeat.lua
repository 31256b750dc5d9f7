-- wrk: heartbeats from NAMES distinct workers (default 1000), each renewing its own lease.
-- Names are w-%012d, the form redis-benchmark's __rand_int__ takes, so both load the same leases.
local names = tonumber(os.getenv("NAMES") or "1000")
local counter = 0
local headers = { ["Content-Type"] = "application/json" }

request = function()
    counter = counter + 1
    return wrk.format("POST", string.format("/v1/workers/w-%012d/heartbeat", counter % names), headers, '{"instance":"bench"}')
end
