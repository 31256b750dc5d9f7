--[[
  report: stores the loads a worker reports for the partitions it is granted (`balance: load`). A load
  for a partition the worker is not granted now (it moved on, or was never its) is dropped, so a worker
  that lags cannot speak for another's partition.

  KEYS: every LeaseKey, as K.
  ARGV, as A (ReportLoadScript.Argument):
    name           the worker's name
    epoch          its lease's epoch, as its heartbeat answered
    loads          `p:load` CSV, each load a non-negative decimal number
  REPLY, field/value pairs (ReportLoadScript.Field):
    stored         how many partitions' loads were stored
  CHANGES: K.loads for those partitions.
  IDEMPOTENT: yes (the same report stores the same values).
]]

local record = redis.call('HGET', K.workers, A.name)
if not record then return {'stored', 0} end
local w = cjson.decode(record)
if w.epoch ~= tonumber(A.epoch) then return {'stored', 0} end
local number = w.number
local stored = 0
for p, load in string.gmatch(A.loads, '(%d+):([^,]+)') do
    if tonumber(redis.call('HGET', K.grants, p)) == number then
        redis.call('HSET', K.loads, p, load)
        stored = stored + 1
    end
end
return {'stored', stored}
