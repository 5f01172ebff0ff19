-- wrk: GET /patients?page=P (default page_size), the same deep page every time.
--   wrk ... -s patients_page.lua URL -- P
local path

function init(args)
  path = "/patients?page=" .. (args[1] or "1")
end

function request()
  return wrk.format("GET", path)
end
