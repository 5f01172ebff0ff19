-- wrk: GET /patients?last_name=<substring>, rotating over substrings that match many patients.
--   wrk ... -s patients_by_last_name.lua URL -- son berg wood mill
local subs = {"son", "berg", "wood", "mill"}
local i = 0

function init(args)
  if #args > 0 then subs = args end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 1000003)
  i = math.random(0, #subs - 1)   -- threads start on different substrings
end

function request()
  i = i % #subs + 1
  return wrk.format("GET", "/patients?last_name=" .. subs[i])
end
