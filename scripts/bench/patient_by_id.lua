-- wrk: GET /patients/{id} with uniformly random ids.
--   wrk ... -s patient_by_id.lua URL -- N            ids 1..N
--   wrk ... -s patient_by_id.lua URL -- file PATH    ids read from PATH, one per line
local ids, n

function init(args)
  -- a different seed in every thread (each thread has its own Lua state)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 1000003)
  if args[1] == "file" then
    ids = {}
    for line in io.lines(args[2]) do
      if line ~= "" then ids[#ids + 1] = line end
    end
    n = #ids
  else
    n = tonumber(args[1])
  end
  assert(n and n > 0, "patient_by_id.lua: no ids")
end

function request()
  local i = math.random(1, n)
  return wrk.format("GET", "/patients/" .. (ids and ids[i] or tostring(i)))
end
