--[[
  The comma-separated lists the lease state keeps: partitions ("3,17,600") and grants
  ("3:1732270000123456,17:…", partition:grantEpoch). Integers are formatted with %d / %.0f, never by
  Lua's default formatting, which rounds past 14 significant digits (an epoch has 16).
  Defines: csvSet, csv, grantList, grantCSV.
]]

-- The distinct integers of `text` as a set and as a list in their first order.
local function csvSet(text)
    local set, list = {}, {}
    if text then
        for p in string.gmatch(text, '%d+') do
            local n = tonumber(p)
            if not set[n] then set[n] = true; list[#list + 1] = n end
        end
    end
    return set, list
end

local function csv(list)
    local parts = {}
    for i, n in ipairs(list) do parts[i] = string.format('%d', n) end
    return table.concat(parts, ',')
end

-- granted-by values are 'partition:grantEpoch' pairs; returns the partitions in order and partition -> epoch.
local function grantList(text)
    local list, epochs = {}, {}
    if text then
        for p, e in string.gmatch(text, '(%d+):(%d+)') do
            local n = tonumber(p)
            list[#list + 1] = n; epochs[n] = tonumber(e)
        end
    end
    return list, epochs
end

local function grantCSV(list, epochs)
    local parts = {}
    for i, p in ipairs(list) do parts[i] = string.format('%d:%.0f', p, epochs[p]) end
    return table.concat(parts, ',')
end
