-- wrk script for bench/tenancy.sh and bench/fairness.sh: each request picks a
-- random line of FHIRGATE_BENCH_TARGETS, "<base path> <Patient id> <token>"
-- (a tenant's base /t/tNNN/fhir and its token, or /fhir for the one-tenant
-- baseline), and sends, by FHIRGATE_BENCH_MODE:
--   read    GET <base>/Patient/<id>
--   search  GET <base>/Observation?subject=Patient/<id>&_count=10
local targets = {}
for line in io.lines(os.getenv("FHIRGATE_BENCH_TARGETS")) do
  local base, id, token = line:match("^(%S+) (%S+) (%S+)$")
  if base then
    targets[#targets + 1] = { base = base, id = id,
      headers = { ["Accept"] = "application/fhir+json", ["Authorization"] = "Bearer " .. token } }
  end
end
local mode = os.getenv("FHIRGATE_BENCH_MODE") or "read"

local thread_id = 0
setup = function(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end

init = function(args)
  math.randomseed(os.time() * 100 + (tid or 0))
end

request = function()
  local t = targets[math.random(#targets)]
  if mode == "search" then
    return wrk.format("GET", t.base .. "/Observation?subject=Patient/" .. t.id .. "&_count=10", t.headers)
  end
  return wrk.format("GET", t.base .. "/Patient/" .. t.id, t.headers)
end
