-- wrk script: GET a random seeded Patient by id (ids from bench/ids.txt).
local ids = {}
for line in io.lines(os.getenv("FHIRGATE_BENCH_IDS") or "bench/ids.txt") do
  ids[#ids + 1] = line
end
-- FHIRGATE_BENCH_TOKEN, when set, is sent as `Authorization: Bearer` (bench/lib.sh bench_token).
local token = os.getenv("FHIRGATE_BENCH_TOKEN")
local headers = { ["Accept"] = "application/fhir+json" }
if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
math.randomseed(os.time())
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/fhir/Patient/" .. id, headers)
end
