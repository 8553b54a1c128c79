-- wrk script: GET a random seeded Patient by id (ids from bench/ids.txt).
local ids = {}
for line in io.lines(os.getenv("FHIRGATE_BENCH_IDS") or "bench/ids.txt") do
  ids[#ids + 1] = line
end
math.randomseed(os.time())
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/fhir/Patient/" .. id, { ["Accept"] = "application/fhir+json" })
end
