-- wrk: heartbeats over the paths in PATHS_FILE (one per line), in turn, each renewing its own lease.
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
local counter = 0
local headers = { ["Content-Type"] = "application/json" }

request = function()
    counter = counter + 1
    return wrk.format("POST", paths[counter % #paths + 1], headers, '{"instance":"bench"}')
end
