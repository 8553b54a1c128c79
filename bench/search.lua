-- wrk script: GET a random search from a file of request paths (one per line,
-- written by `bench/search-load.py queries`), e.g.
--   /fhir/Observation?patient=bp0042&code=8867-4&date=ge2019-08-30
--   /fhir/Patient?name=bre&birthdate=1975
-- FHIRGATE_BENCH_PATHS names the file. Counts non-200 responses and the Bundle
-- totals, and prints one summary line (latencies in ms) that bench/search.sh parses:
--   RESULT requests=.. rps=.. p50=.. p95=.. p99=.. max=.. non200=.. errors=.. mean_total=..
local paths = {}
for line in io.lines(os.getenv("FHIRGATE_BENCH_PATHS") or "target/bench-search/obs-queries.txt") do
  if line ~= "" then paths[#paths + 1] = line end
end

-- FHIRGATE_BENCH_TOKEN, when set, is sent as `Authorization: Bearer` (bench/lib.sh bench_token).
local token = os.getenv("FHIRGATE_BENCH_TOKEN")
local headers = { ["Accept"] = "application/fhir+json" }
if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end

local threads = {}
local thread_id = 0
setup = function(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
  threads[#threads + 1] = thread
end

non200, totals, matched, first_bad = 0, 0, 0, ""
init = function(args)
  math.randomseed(os.time() * 100 + (tid or 0))
end

request = function()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

response = function(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if first_bad == "" then first_bad = status .. " " .. string.sub(body or "", 1, 200) end
    return
  end
  -- The searchset's "total" comes before the entries.
  local t = string.match(string.sub(body, 1, 400), '"total":(%d+)')
  if t then
    totals = totals + 1
    matched = matched + tonumber(t)
  end
end

done = function(summary, latency, requests)
  local bad, n, m, sample = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    bad = bad + t:get("non200")
    n = n + t:get("totals")
    m = m + t:get("matched")
    if sample == "" then sample = t:get("first_bad") end
  end
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d rps=%.1f p50=%.2f p95=%.2f p99=%.2f max=%.2f non200=%d errors=%d mean_total=%.2f\n",
    summary.requests, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, bad, errors, n > 0 and m / n or 0))
  if sample ~= "" then io.write("FIRST_NON200 " .. sample .. "\n") end
end
