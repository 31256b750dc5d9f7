-- luacheck over the lease scripts as Redis runs them (preamble and includes expanded; scripts/test
-- writes them with the LeaseScriptTests dump). Redis's Lua is 5.1 with these globals.
std = "lua51"
read_globals = { "redis", "cjson", "KEYS", "ARGV" }
-- The generated key table and record format are one line each.
max_line_length = false
-- The includes are libraries: a script need not use every function of one it includes. An unused
-- local of a script's own is still reported.
ignore = {
    "211/nowUs", "211/iso8601", "211/csvSet", "211/csv", "211/grantList", "211/grantCSV", "211/event",
    "211/nextEpoch", "211/raiseEpoch", "211/beginRecovery", "211/checkStore", "211/release", "211/expire",
    "211/lowestFreeNumber", "211/exhaustedRetryMs", "211/isAdoptable", "211/settleGrants",
}
